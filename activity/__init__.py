"""The activity layer: ActivityEvent, record_activity, the event-type registry, replay, streams."""
