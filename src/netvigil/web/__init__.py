"""Pages and documents that span the apps: the home page and the OpenAPI document."""
