package tokenizer

import (
	"slices"
	"testing"
)

// The expected strings are what Qwen3's chat_template (testdata/
// tokenizer_config.json) renders for the same messages and flags.
func TestRenderChat(t *testing.T) {
	q := []Message{{"user", "What is 2+2?"}}
	tests := []struct {
		name     string
		msgs     []Message
		gen      bool
		thinking bool
		want     string
	}{
		{"single user", q, false, true,
			"<|im_start|>user\nWhat is 2+2?<|im_end|>\n"},
		{"single user, generation prompt", q, true, true,
			"<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"single user, thinking off", q, true, false,
			"<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{"thinking off without generation prompt", q, false, false,
			"<|im_start|>user\nWhat is 2+2?<|im_end|>\n"},
		{"system and user",
			[]Message{{"system", "You are a helpful assistant."}, {"user", "Hi"}}, true, true,
			"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"multi-turn drops old reasoning",
			[]Message{{"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "<think>\nadd\n</think>\n\n4"}, {"user", "3+3?"}}, true, false,
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n" +
				"<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"},
		{"last assistant keeps reasoning",
			[]Message{{"user", "2+2?"}, {"assistant", "<think>\nadd them\n</think>\n\n4"}}, false, true,
			"<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n"},
		{"last assistant without reasoning gets an empty block",
			[]Message{{"user", "2+2?"}, {"assistant", "4"}}, false, true,
			"<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n"},
		{"tool responses",
			[]Message{{"user", "q"}, {"assistant", "calling"}, {"tool", "r1"}, {"tool", "r2"}, {"assistant", "<think>ok</think>done"}}, true, true,
			"<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\ncalling<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n" +
				"<tool_response>\nr2\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>\n\ndone<|im_end|>\n<|im_start|>assistant\n"},
		{"later system message",
			[]Message{{"user", "a"}, {"system", "s"}}, false, true,
			"<|im_start|>user\na<|im_end|>\n<|im_start|>system\ns<|im_end|>\n"},
		{"no messages", nil, true, false,
			"<|im_start|>assistant\n<think>\n\n</think>\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RenderChat(tt.msgs, tt.gen, tt.thinking); got != tt.want {
				t.Errorf("RenderChat:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRenderChatTokens(t *testing.T) {
	tok := loadQwen3(t)
	ids := tok.Encode(RenderChat([]Message{{"user", "Hi"}}, true, false))
	want := []int32{151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271}
	if !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
}
