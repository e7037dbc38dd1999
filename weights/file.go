package weights

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// File is one open safetensors file. Its header is validated by Open; tensor
// data is read on demand. On unix systems the file is memory-mapped (read
// only), so a multi-gigabyte file needs no second copy in memory; elsewhere
// tensors are streamed with positioned reads. The methods are safe for
// concurrent use; reads after Close return an error.
type File struct {
	path string
	hdr  *header
	// dataStart is the offset of the data section in the file.
	dataStart int64

	mu     sync.RWMutex
	closed bool
	// mapped is the whole file when it is memory-mapped or held in memory;
	// otherwise nil and r is used.
	mapped []byte
	unmap  func([]byte) error
	r      *os.File
}

// streamChunk is the size of one positioned read when the file is not
// mapped; a multiple of every element size.
const streamChunk = 1 << 20

// Open opens and validates the safetensors file at path.
func Open(path string) (*File, error) { return open(path, true) }

// openStreamed opens the file like Open but never maps it, so that the
// positioned-read path can be tested on any system.
func openStreamed(path string) (*File, error) { return open(path, false) }

// open opens and validates a safetensors file, mapping it if mapIt is set
// and the system allows.
func open(path string, mapIt bool) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, fmt.Errorf("weights: %w", err)
	}
	if !st.Mode().IsRegular() {
		osf.Close()
		return nil, fmt.Errorf("weights: %s: not a regular file", path)
	}
	size := st.Size()
	var prefix [8]byte
	if size >= 8 {
		if _, err := osf.ReadAt(prefix[:], 0); err != nil {
			osf.Close()
			return nil, fmt.Errorf("weights: %s: reading header length: %w", path, err)
		}
	}
	n, err := headerLen(prefix[:], size, path)
	if err != nil {
		osf.Close()
		return nil, err
	}
	js := make([]byte, n)
	if _, err := osf.ReadAt(js, 8); err != nil {
		osf.Close()
		return nil, fmt.Errorf("weights: %s: reading %d-byte header: %w", path, n, err)
	}
	hdr, err := parseHeader(js, size-8-n, path)
	if err != nil {
		osf.Close()
		return nil, err
	}
	f := &File{path: path, hdr: hdr, dataStart: 8 + n}
	f.r = osf
	if mapIt {
		if data, unmap, err := mmapFile(osf, size); err == nil {
			f.mapped, f.unmap, f.r = data, unmap, nil
			osf.Close() // the mapping outlives the descriptor
		}
	}
	return f, nil
}

// openBytes returns a File reading from b, which holds a whole safetensors
// file. b must not be modified while the File is in use.
func openBytes(b []byte, source string) (*File, error) {
	hdr, start, err := parseBytes(b, source)
	if err != nil {
		return nil, err
	}
	return &File{path: source, hdr: hdr, dataStart: start, mapped: b}, nil
}

// Close releases the file. Further reads return an error.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	var err error
	if f.unmap != nil {
		err = f.unmap(f.mapped)
	}
	f.mapped = nil
	if f.r != nil {
		if cerr := f.r.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("weights: %s: close: %w", f.path, err)
	}
	return nil
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order. The slice is a copy.
func (f *File) Names() []string { return append([]string(nil), f.hdr.names...) }

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	t, ok := f.hdr.tensors[name]
	if ok {
		t.Shape = append([]int(nil), t.Shape...)
	}
	return t, ok
}

// Metadata returns a copy of the header's __metadata__ map (empty if absent).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.hdr.metadata))
	for k, v := range f.hdr.metadata {
		m[k] = v
	}
	return m
}

// lookup returns the named tensor's info or an error naming the file.
func (f *File) lookup(name string) (TensorInfo, error) {
	t, ok := f.hdr.tensors[name]
	if !ok {
		return TensorInfo{}, fmt.Errorf("weights: %s: no tensor %q (the file has %d tensors; check the name against Names)", f.path, name, len(f.hdr.names))
	}
	return t, nil
}

// ReadFloat32 decodes the named F32, BF16, F16 or F64 tensor into dst, whose
// length must equal the tensor's element count.
func (f *File) ReadFloat32(name string, dst []float32) error {
	t, err := f.lookup(name)
	if err != nil {
		return err
	}
	if !t.DType.IsFloat() {
		return fmt.Errorf("weights: %s: tensor %q: dtype %s cannot be read as float32 (use Ints for integer tensors)", f.path, name, t.DType)
	}
	if n := t.NumElements(); len(dst) != n {
		return fmt.Errorf("weights: %s: tensor %q: destination holds %d values but the tensor, shape %v, has %d", f.path, name, len(dst), t.Shape, n)
	}
	size := int64(t.DType.Size())
	return f.readRaw(t, func(chunk []byte, off int64) error {
		i := off / size
		return decodeFloat32(t.DType, chunk, dst[i:i+int64(len(chunk))/size])
	})
}

// Float32 decodes the named tensor into a new slice and returns it with the
// tensor's shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if !t.DType.IsFloat() {
		return nil, nil, fmt.Errorf("weights: %s: tensor %q: dtype %s cannot be read as float32 (use Ints for integer tensors)", f.path, name, t.DType)
	}
	dst := make([]float32, t.NumElements())
	if err := f.ReadFloat32(name, dst); err != nil {
		return nil, nil, err
	}
	return dst, append([]int(nil), t.Shape...), nil
}

// Ints decodes the named integer tensor (I64, I32, I16, I8, U64, U32, U16,
// U8 or BOOL) into a new slice and returns it with the tensor's shape.
func (f *File) Ints(name string) ([]int64, []int, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, nil, err
	}
	if !t.DType.IsInt() {
		return nil, nil, fmt.Errorf("weights: %s: tensor %q: dtype %s is not an integer type (use Float32 for float tensors)", f.path, name, t.DType)
	}
	dst := make([]int64, t.NumElements())
	size := int64(t.DType.Size())
	err = f.readRaw(t, func(chunk []byte, off int64) error {
		i := off / size
		return decodeInt64(t.DType, chunk, dst[i:i+int64(len(chunk))/size])
	})
	if err != nil {
		return nil, nil, err
	}
	return dst, append([]int(nil), t.Shape...), nil
}

// Raw returns a copy of the named tensor's bytes, as stored (little-endian).
func (f *File) Raw(name string) ([]byte, error) {
	t, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	dst := make([]byte, t.NumBytes())
	err = f.readRaw(t, func(chunk []byte, off int64) error {
		copy(dst[off:], chunk)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// readRaw passes the tensor's bytes to fn in chunks that hold whole
// elements, with each chunk's byte offset within the tensor. A mapped file
// is passed in one chunk. fn must not keep the chunk.
func (f *File) readRaw(t TensorInfo, fn func(chunk []byte, off int64) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return fmt.Errorf("weights: %s: tensor %q: file is closed", f.path, t.Name)
	}
	if t.End == t.Begin {
		return nil
	}
	var err error
	if f.mapped != nil {
		lo, hi := f.dataStart+t.Begin, f.dataStart+t.End
		err = guardFault(func() error { return fn(f.mapped[lo:hi], 0) })
	} else {
		err = f.stream(t, fn)
	}
	if err != nil {
		return fmt.Errorf("weights: %s: tensor %q: %w", f.path, t.Name, err)
	}
	return nil
}

// stream reads the tensor with positioned reads, one chunk at a time.
func (f *File) stream(t TensorInfo, fn func(chunk []byte, off int64) error) error {
	buf := make([]byte, min(streamChunk, t.End-t.Begin))
	for off := int64(0); off < t.End-t.Begin; {
		n := min(int64(len(buf)), t.End-t.Begin-off)
		if _, err := f.r.ReadAt(buf[:n], f.dataStart+t.Begin+off); err != nil {
			if err == io.EOF {
				return fmt.Errorf("file ended early (was it truncated after opening?): %w", io.ErrUnexpectedEOF)
			}
			return err
		}
		if err := fn(buf[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// guardFault runs fn, turning a memory fault (a mapped file truncated or
// removed from under us, or an I/O error paging it in) into an error instead
// of a crash.
func guardFault(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("memory fault reading the mapped file (was it truncated or modified while open?): %v", r)
				return
			}
			panic(r)
		}
	}()
	return fn()
}
