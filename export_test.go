package messenger

// Patterns exposes the "METHOD /path" patterns a node serves to the tests.
func Patterns(m *Messenger) []string { return m.patterns }
