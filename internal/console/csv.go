package console

// CSVCell returns s safe to open in a spreadsheet: a cell starting with
// =, +, -, @, a tab or a carriage return would be read as a formula
// (CSV injection), so it gets a leading single quote.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
