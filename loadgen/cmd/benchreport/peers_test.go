package main

import "testing"

func TestSpliceSection(t *testing.T) {
	const section = "## Peers\n\nnew\n\n"
	tests := []struct{ name, old, want string }{
		{"replaced, up to the next heading",
			"# B\n\n## Targets\n\nt\n\n## Peers\n\nold\nold\n\n## Comparisons\n\nkept\n",
			"# B\n\n## Targets\n\nt\n\n## Peers\n\nnew\n\n## Comparisons\n\nkept\n"},
		{"replaced at the end",
			"# B\n\n## Peers\n\nold\n",
			"# B\n\n## Peers\n\nnew\n\n"},
		{"added before the comparisons",
			"# B\n\n## Targets\n\nt\n\n## Comparisons\n\nkept\n",
			"# B\n\n## Targets\n\nt\n\n## Peers\n\nnew\n\n## Comparisons\n\nkept\n"},
		{"added at the end",
			"# B\n\n## Targets\n\nt\n",
			"# B\n\n## Targets\n\nt\n\n## Peers\n\nnew\n\n"},
		{"a report not there yet", "", section},
	}
	for _, tt := range tests {
		if got := string(spliceSection([]byte(tt.old), peersHeading, []byte(section))); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
