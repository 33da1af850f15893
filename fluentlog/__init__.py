"""fluentlog: investigate exported Fluent audit and sign-in logs with DuckDB."""

__version__ = "0.1.0"
