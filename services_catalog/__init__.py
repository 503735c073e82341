"""The catalog of administrative procedures and online public services.

Models, the importer of the national database's export, the bundled reference data and a
generator of national-size synthetic catalogs. ``portal.catalog`` serves it.
"""
