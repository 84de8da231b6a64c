"""custseg dashboard: ``streamlit run app.py``. All logic lives in ``custseg.dashboard``."""

from custseg.dashboard import main

main()
