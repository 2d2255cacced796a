package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// sectionStart writes the heading of a section that `benchreport -only
// only` can run by itself, and returns when its runs were made, for its
// first sentence: with the rest of the report, or when alone, apart from
// it.
func sectionStart(b *bytes.Buffer, heading, only string, alone bool) (when string) {
	fmt.Fprint(b, strings.TrimPrefix(heading, "\n"), "\n")
	if !alone {
		return "in the same sitting as the rest of this report"
	}
	return fmt.Sprintf("on %s by `benchreport -only %s`, apart from the rest of this report", time.Now().UTC().Format("2006-01-02 15:04 MST"), only)
}
