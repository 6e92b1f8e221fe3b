"""The PostgreSQL database backend aiops runs on: Django's, with a cheaper health check."""
