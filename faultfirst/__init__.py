"""faultfirst: an interview kit for AI engineers, and the glue that ties its parts together."""

__version__ = "0.1.0"
