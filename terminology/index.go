package terminology

// buildTermIndex builds the search backend for one source's terms.
func buildTermIndex(codes []string, rows []termRow) termIndex {
	return newPlainIndex(codes, rows)
}
