"""incidentfeed: raw news articles about attacks in, a versioned JSON incident feed out.

Read `services/` top to bottom to see the pipeline: contracts (the messages), runtime (the
worker shell written once), then the stages in the order data flows through them:
cleaner -> entities -> casualties -> dedup -> publisher.
"""
