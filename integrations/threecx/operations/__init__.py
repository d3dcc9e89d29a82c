"""The XAPI operation console's view of the spec: every operation, its parameters and
schemas (catalogue, schemas), checking and rendering a request (requests), hiding secrets
in what is shown or kept (masking), and which 3CX versions have which operations (versions).

Nothing here speaks to a server: `ThreeCXClient.operation_call` sends a prepared request.
"""
