"""Data files shipped with the package (installed as ``symbiosis._data``)."""
