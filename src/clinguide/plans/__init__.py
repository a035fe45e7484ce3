"""Patient-specific care plans (`assess`)."""
