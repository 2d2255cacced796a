package loadgen

import "testing"

func TestCheckerInOrder(t *testing.T) {
	// 10 stable sessions in 3 rooms: room 1 holds 1, 4, 7.
	c := newChecker(1, 3, 10)
	if len(c.slots) != 3 {
		t.Fatalf("room 1 of 10 sessions in 3 rooms has %d slots, want 3", len(c.slots))
	}
	for seq := uint32(1); seq <= 5; seq++ {
		for _, sender := range []uint32{4, 7} {
			if v := c.observe(sender, seq); v != deliveryNew {
				t.Fatalf("sender %d seq %d: verdict %d, want new", sender, seq, v)
			}
		}
	}
	if c.unique != 10 || c.duplicates != 0 || c.outOfOrder != 0 || c.extra != nil || c.gaps != nil {
		t.Fatalf("unique %d dup %d ooo %d extra %v gaps %v", c.unique, c.duplicates, c.outOfOrder, c.extra, c.gaps)
	}
}

func TestCheckerSlotsPerRoom(t *testing.T) {
	// 10 sessions in 3 rooms: rooms 0, 1, 2 hold 4, 3, 3.
	for room, want := range []int{4, 3, 3} {
		if got := len(newChecker(uint32(room), 3, 10).slots); got != want {
			t.Errorf("room %d: %d slots, want %d", room, got, want)
		}
	}
}

func TestCheckerDuplicatesAndReordering(t *testing.T) {
	c := newChecker(0, 1, 4)
	steps := []struct {
		seq  uint32
		want verdict
	}{
		{1, deliveryNew},
		{1, deliveryDuplicate}, // the same again
		{3, deliveryNew},       // 2 is missing so far
		{5, deliveryNew},       // so is 4
		{2, deliveryOutOfOrder},
		{3, deliveryDuplicate}, // held in the gap set
		{4, deliveryOutOfOrder},
		{2, deliveryDuplicate}, // below next now
		{6, deliveryNew},
	}
	for i, st := range steps {
		if got := c.observe(2, st.seq); got != st.want {
			t.Fatalf("step %d (seq %d): verdict %d, want %d", i, st.seq, got, st.want)
		}
	}
	if c.unique != 6 || c.duplicates != 3 || c.outOfOrder != 2 {
		t.Fatalf("unique %d dup %d ooo %d; want 6 3 2", c.unique, c.duplicates, c.outOfOrder)
	}
	if len(c.gaps) != 0 || c.slots[2].next != 7 {
		t.Fatalf("gaps %v next %d: the filled gap should be forgotten", c.gaps, c.slots[2].next)
	}
}

func TestCheckerLossLeavesUniqueShort(t *testing.T) {
	c := newChecker(0, 1, 2)
	for _, seq := range []uint32{1, 2, 4, 5} { // 3 never comes
		c.observe(1, seq)
	}
	if c.unique != 4 || c.outOfOrder != 0 || c.duplicates != 0 {
		t.Fatalf("unique %d ooo %d dup %d; want 4 0 0", c.unique, c.outOfOrder, c.duplicates)
	}
}

func TestCheckerChurnSendersAndRooms(t *testing.T) {
	c := newChecker(0, 2, 10)
	if c.inRoom(3) || !c.inRoom(4) || !c.inRoom(10) || !c.inRoom(1000) {
		t.Fatal("inRoom: stable senders of room 1 are misrouted, churners (>= 10) are anywhere")
	}
	c.observe(12, 1)
	c.observe(12, 2)
	c.observe(12, 2)
	if len(c.extra) != 1 || c.unique != 2 || c.duplicates != 1 {
		t.Fatalf("extra %d unique %d dup %d", len(c.extra), c.unique, c.duplicates)
	}
}
