"""Channel connectors: one module per channel behind the ``Connector`` contract (``base``)."""
