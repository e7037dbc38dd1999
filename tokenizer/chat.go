package tokenizer

import "strings"

// Message is one turn of a conversation. Role is "system", "user",
// "assistant" or "tool"; turns with other roles are left out of the
// rendered text, as Qwen3's template does.
type Message struct{ Role, Content string }

// Chat markup of Qwen's template.
const (
	imStart = "<|im_start|>"
	imEnd   = "<|im_end|>"
)

// RenderChat renders msgs with Qwen3's chat template (the chat_template of
// its tokenizer_config.json, without tools), giving the same text as the
// Jinja template does with add_generation_prompt and enable_thinking set:
//
//   - A leading system message and every user message become
//     "<|im_start|>ROLE\nCONTENT<|im_end|>\n".
//   - An assistant message loses any "<think>...</think>" block it holds,
//     unless it comes after the last user query and is the last message or
//     has reasoning: then it is rendered with its think block.
//   - Consecutive tool messages go into one user turn, each wrapped in
//     "<tool_response>" tags.
//   - addGenerationPrompt appends "<|im_start|>assistant\n", and with
//     enableThinking false also the empty think block
//     "<think>\n\n</think>\n\n", which makes the model answer directly.
func RenderChat(msgs []Message, addGenerationPrompt, enableThinking bool) string {
	var sb strings.Builder
	turn := func(role string, parts ...string) {
		sb.WriteString(imStart)
		sb.WriteString(role)
		sb.WriteString("\n")
		for _, p := range parts {
			sb.WriteString(p)
		}
	}
	if len(msgs) > 0 && msgs[0].Role == "system" {
		turn("system", msgs[0].Content, imEnd, "\n")
	}
	// The last user message that is a query rather than a tool response.
	lastQuery := len(msgs) - 1
	for i := len(msgs) - 1; i >= 0; i-- {
		c := msgs[i].Content
		if msgs[i].Role == "user" && !(strings.HasPrefix(c, "<tool_response>") && strings.HasSuffix(c, "</tool_response>")) {
			lastQuery = i
			break
		}
	}
	for i, m := range msgs {
		last := i == len(msgs)-1
		switch {
		case m.Role == "user" || (m.Role == "system" && i > 0):
			turn(m.Role, m.Content, imEnd, "\n")
		case m.Role == "assistant":
			content, reasoning := splitThink(m.Content)
			if i > lastQuery && (last || reasoning != "") {
				turn(m.Role, "<think>\n", strings.Trim(reasoning, "\n"), "\n</think>\n\n", strings.TrimLeft(content, "\n"))
			} else {
				turn(m.Role, content)
			}
			sb.WriteString(imEnd + "\n")
		case m.Role == "tool":
			if i == 0 || msgs[i-1].Role != "tool" {
				sb.WriteString(imStart + "user")
			}
			sb.WriteString("\n<tool_response>\n" + m.Content + "\n</tool_response>")
			if last || msgs[i+1].Role != "tool" {
				sb.WriteString(imEnd + "\n")
			}
		}
	}
	if addGenerationPrompt {
		turn("assistant")
		if !enableThinking {
			sb.WriteString("<think>\n\n</think>\n\n")
		}
	}
	return sb.String()
}

// splitThink splits an assistant message into its answer and its reasoning
// as the template does: the answer follows the last "</think>", the
// reasoning is what lies between "<think>" and the first "</think>".
func splitThink(s string) (content, reasoning string) {
	if !strings.Contains(s, "</think>") {
		return s, ""
	}
	parts := strings.Split(s, "</think>")
	content = strings.TrimLeft(parts[len(parts)-1], "\n")
	before := strings.Split(strings.TrimRight(parts[0], "\n"), "<think>")
	reasoning = strings.TrimLeft(before[len(before)-1], "\n")
	return content, reasoning
}
