"""Jobs: what the Telegram layer, the API and the CLI hand to the pipeline."""
