"""News feeds (RSS 2.0, RSS 1.0/RDF, Atom) as a source of articles, next to the inbox."""
