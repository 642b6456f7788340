"""Live follow of one run over Server-Sent Events, resumable from `Last-Event-ID`."""
