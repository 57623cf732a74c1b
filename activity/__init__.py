"""The activity layer: the event-type registry now; ActivityEvent and record_activity move here in
the refactor (issue 13)."""
