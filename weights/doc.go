// Package weights reads and writes model weights and the Hugging Face files
// that describe them: safetensors files (F32, BF16 and F16 tensors decoded to
// float32; integer tensors decoded to int64), sharded checkpoints listed by a
// model.safetensors.index.json, a Qwen3 config.json and a
// generation_config.json.
//
// Files are memory-mapped on unix systems, so reading one tensor of a
// multi-gigabyte file touches only that tensor's pages; elsewhere tensors are
// streamed with positioned reads. Every header is validated before any tensor
// is read: offsets, sizes, dtypes and overlaps are checked, and a malformed
// file gives an error that names the file and the tensor rather than a panic.
//
// Everything written here (safetensors files, shard indexes, JSON configs)
// is written atomically: to a temporary file in the same directory, synced,
// then renamed over the destination, so an interrupted write leaves the
// previous file intact. The files follow the layout transformers and vLLM
// load: tensors in name order, contiguous, little-endian, the JSON header
// padded with spaces to a multiple of 8 bytes and carrying
// "__metadata__": {"format": "pt"}.
package weights
