package client

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"chat/internal/wire"
)

// The table tests every mode shares: what a typed line becomes (Parse) and
// how a frame from the server is shown (Show).

// parseCase is one typed line and the command it must become.
type parseCase struct {
	line string
	want Command
}

func checkParse(t *testing.T, m Mode, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		got := m.Parse(tt.line)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", shortLine(tt.line), shortCommand(got), shortCommand(tt.want))
		}
	}
}

// showCase is one frame from the server, the request it answers (nil:
// none), and the lines the mode must show for it.
type showCase struct {
	name string
	f    wire.Frame
	req  *wire.Frame
	want []string
}

func checkShow(t *testing.T, m Mode, now time.Time, tests []showCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := m.Show(&tt.f, tt.req, now)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Show = %q, want %q", got, tt.want)
			}
		})
	}
}
