package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// mixedText returns about n bytes of deterministic text mixing English
// prose, Go and Python code, Chinese and numbers.
func mixedText(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	english := strings.Fields("the of and to in is that for it as with was on be by this are from at or an " +
		"model training reward policy gradient token sequence batch learning rate value function sample " +
		"group robust optimization difficulty prompt answer question because however although")
	chinese := []string{"模型", "训练", "奖励", "策略", "梯度", "序列", "学习率", "问题", "答案", "数学", "推理", "我们", "可以", "这个", "因为"}
	code := []string{
		"func (t *Tokenizer) Encode(text string) []int {\n\treturn nil\n}\n",
		"for i := 0; i < len(xs); i++ {\n\tsum += xs[i] * w[i]\n}\n",
		"def softmax(x):\n    e = np.exp(x - x.max())\n    return e / e.sum()\n",
		"if err != nil {\n\treturn fmt.Errorf(\"load %s: %w\", path, err)\n}\n",
		"    self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])\n",
	}
	var sb strings.Builder
	for sb.Len() < n {
		switch r.IntN(4) {
		case 0:
			k := 8 + r.IntN(20)
			for i := range k {
				w := english[r.IntN(len(english))]
				if i == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				sb.WriteString(w)
				if i < k-1 {
					sb.WriteByte(' ')
				}
			}
			sb.WriteString(". ")
		case 1:
			sb.WriteString(code[r.IntN(len(code))])
		case 2:
			for range 6 + r.IntN(20) {
				sb.WriteString(chinese[r.IntN(len(chinese))])
			}
			sb.WriteString("。\n")
		case 3:
			fmt.Fprintf(&sb, "%d + %d = %d, %.4f; ", r.IntN(100000), r.IntN(1000), r.IntN(1000000), r.Float64()*1000)
		}
	}
	return sb.String()
}

// BenchmarkEncode measures encode throughput on 1 MB of mixed text, with
// the word cache warm after the first iteration.
func BenchmarkEncode(b *testing.B) {
	tok := loadQwen3(b)
	text := mixedText(1 << 20)
	b.SetBytes(int64(len(text)))
	var n int
	for b.Loop() {
		n = len(tok.Encode(text))
	}
	b.ReportMetric(float64(n), "tokens/op")
}

// BenchmarkEncodeCold is BenchmarkEncode with an empty word cache at every
// iteration.
func BenchmarkEncodeCold(b *testing.B) {
	tok := loadQwen3(b)
	text := mixedText(1 << 20)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		cold := *tok
		cold.cache = newWordCache()
		cold.Encode(text)
	}
}

// BenchmarkEncodeReference encodes the reference strings joined by
// newlines, 40 times over (355,360 bytes): the text that the fixture's
// README uses to time the JavaScript tokenizer.
func BenchmarkEncodeReference(b *testing.B) {
	tok := loadQwen3(b)
	var texts []string
	for _, c := range loadReference(b) {
		texts = append(texts, c.Text)
	}
	text := strings.Repeat(strings.Join(texts, "\n"), 40)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := loadQwen3(b)
	text := mixedText(1 << 20)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids)
	}
}

func BenchmarkLoad(b *testing.B) {
	data, err := readMaybeGzip("testdata/tokenizer.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrain(b *testing.B) {
	corpus := strings.Split(mixedText(1<<18), "\n")
	for b.Loop() {
		if _, err := Train(corpus, TrainConfig{VocabSize: 2000}); err != nil {
			b.Fatal(err)
		}
	}
}
