"""Query service: assembles stored documents into X-Ray traces and summaries."""
