"""Hand-off side of Maraude.

Database models, services, web pages and (later) the counsellor queue.
"""
