"""`make bench`: Newsroom measured against a hello-world Flask app on the same machine."""
