"""The Newsroom articles service: articles, tags, comments, favorites and the feed."""
