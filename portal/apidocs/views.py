"""The OpenAPI document (JSON) and the API documentation page (HTML, no JavaScript)."""

from flask import jsonify, render_template

from portal.apidocs import bp, spec

# The document changes only with a deployment.
CACHE_SECONDS = 300


@bp.get(spec.SPEC_PATH)
def openapi_document():
    response = jsonify(spec.document())
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response


@bp.get(spec.DOCS_PATH)
def docs_page():
    # Not cached publicly: the site layout carries the visitor's language.
    return render_template("apidocs/docs.html", api=spec.outline())
