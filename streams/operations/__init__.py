"""What an operator runs and reads beside the pipeline: ``funnel status`` (:mod:`streams.operations.status`)."""
