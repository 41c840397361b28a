"""The operator's web console: server-rendered pages whose scripts call the JSON API."""
