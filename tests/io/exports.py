"""Small exports in the platforms' documented column layouts, for the layout tests.

The RFM each should give is computed by hand in tests/io/test_layouts.py.
"""

#: Shopify orders export (a subset of its 70-odd columns, in its order). Order-level fields
#: are blank on an order's second and later lines, as Shopify writes them.
SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,"
    "Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem sku,Lineitem discount,Cancelled at,Refunded Amount,Id\n"
    # #1001: three lines, a 5.00 line discount and 10.00 more on the order (15.00 in all).
    "#1001,Alice@Example.com,paid,2023-03-10 10:00:00 -0800,fulfilled,USD,90.00,5.00,7.20,"
    "102.20,SPRING,15.00,2023-03-10 10:00:00 -0800,2,Mug,20.00,MUG-1,0.00,,0.00,1\n"
    "#1001,,,,,,,,,,,,,1,Bowl,30.00,BOWL-1,5.00,,,\n"
    "#1001,,,,,,,,,,,,,1,Plate,35.00,PLATE-1,0.00,,,\n"
    # #1002 and #1004: Bob, either side of the US daylight-saving change (2023-03-12 10:00 UTC).
    "#1002,bob@example.com,paid,,fulfilled,USD,50.00,0.00,0.00,50.00,,0.00,"
    "2023-03-12 00:30:00 -0800,1,Lamp,50.00,LAMP-1,0.00,,0.00,2\n"
    # #1003: cancelled and voided.
    "#1003,alice@example.com,voided,,,USD,99.00,0.00,0.00,99.00,,0.00,"
    "2023-03-13 09:00:00 -0700,1,Chair,99.00,CHAIR-1,0.00,2023-03-13 10:00:00 -0700,0.00,3\n"
    # #1004: refunded in part (20.00 of 80.00).
    "#1004,bob@example.com,partially_refunded,,fulfilled,USD,80.00,0.00,0.00,80.00,,0.00,"
    "2023-03-12 12:10:00 +0100,2,Cup,20.00,CUP-1,0.00,,20.00,4\n"
    "#1004,,,,,,,,,,,,,1,Jug,40.00,JUG-1,0.00,,,\n"
    # #1005: refunded in full.
    "#1005,carol@example.com,refunded,,,USD,10.00,0.00,0.00,10.00,,0.00,"
    "2023-03-13 08:00:00 +0000,1,Pen,10.00,PEN-1,0.00,,10.00,5\n"
    "#1006,carol@example.com,paid,,fulfilled,USD,15.00,0.00,0.00,15.00,,0.00,"
    "2023-03-14 02:00:00 +0000,3,Card,5.00,CARD-1,0.00,,0.00,6\n"
)

#: WooCommerce orders export, one row per line item (Customer/Order/Coupon Export).
WOOCOMMERCE = (
    "order_id,order_number,order_date,status,shipping_total,tax_total,discount_total,"
    "order_total,order_currency,customer_id,customer_email,item_name,item_quantity,"
    "item_subtotal,item_total,item_refunded\n"
    "101,101,2023-01-05 10:00:00,completed,5.00,0.00,0.00,47.50,EUR,7,a@example.com,Tea,2,"
    "30.00,30.00,0.00\n"
    "101,101,2023-01-05 10:00:00,completed,5.00,0.00,0.00,47.50,EUR,7,a@example.com,Cup,1,"
    "12.50,12.50,0.00\n"
    "102,102,2023-01-20 09:00:00,refunded,0.00,0.00,0.00,20.00,EUR,7,a@example.com,Pot,1,"
    "20.00,20.00,20.00\n"
    "103,103,2023-02-01 12:00:00,wc-processing,0.00,0.00,0.00,60.00,EUR,8,b@example.com,Kettle,"
    "1,60.00,60.00,15.00\n"
    "104,104,2023-02-02 08:00:00,cancelled,0.00,0.00,0.00,9.00,EUR,8,b@example.com,Spoon,1,"
    "9.00,9.00,0.00\n"
    "106,106,2023-01-28 15:00:00,completed,0.00,0.00,0.00,8.00,EUR,10,d@example.com,Jar,1,"
    "8.00,8.00,0.00\n"
    "105,105,2023-01-25 08:00:00,completed,0.00,0.00,0.00,11.00,USD,9,c@example.com,Tin,1,"
    "11.00,11.00,0.00\n"
)

#: Stripe payments export (Payments > Export; a subset of its columns).
STRIPE = (
    "id,Description,Created (UTC),Amount,Amount Refunded,Currency,Converted Amount,Fee,"
    "Status,Captured,Customer ID,Customer Email\n"
    "ch_1,Order 1,2023-05-01 10:00,25.00,0.00,usd,25.00,1.03,Paid,true,cus_A,a@example.com\n"
    "ch_2,Order 2,2023-05-03 11:00,40.00,40.00,usd,40.00,1.46,Refunded,true,cus_A,"
    "a@example.com\n"
    "ch_3,Order 3,2023-05-04 12:00,30.00,10.00,usd,30.00,1.17,Paid,true,cus_B,b@example.com\n"
    "ch_4,Order 4,2023-05-05 13:00,15.00,0.00,usd,15.00,0.00,Failed,false,cus_B,b@example.com\n"
    "ch_5,Order 5,2023-05-06 09:00,12.00,0.00,usd,12.00,0.65,Paid,true,,C@Example.com\n"
)
