"""Hand-off side of Maraude: database models, services, web pages and (later) the counsellor queue."""
