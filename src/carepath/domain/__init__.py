"""The functional core: no database, network, Prefect or wall clock in here."""
