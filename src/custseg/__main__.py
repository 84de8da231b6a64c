"""``python -m custseg``, and the file ``spark-submit`` runs (see docs/spark.md)."""

from custseg.launch import main

if __name__ == "__main__":
    main()
