"""The engine: the only place that speaks the engine API, over docker-py or the raw unix
socket, including the log stream and its frame parser."""
