"""Goals: outcome measures, reviews of an episode, escalations, charts."""
