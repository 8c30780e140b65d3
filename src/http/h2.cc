// HTTP/2 streams on libnghttp2's server session (see h2.h). nghttp2 does the framing,
// HPACK, flow control (windows are updated as data arrives: what a stream may hold is
// bounded by max_body_bytes and the server's unauthenticated bound, not by the window) and
// the protocol's checks; this file maps its callbacks onto Requests and Responses.
#include "http/h2.h"

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "common/logging.h"
#include "http/serializer.h"

namespace millrace::http {

struct H2Session::Stream {
  int32_t id = 0;
  Request request;
  int64_t start_ms = 0;
  size_t header_bytes = 0;
  size_t buffered = 0;  // counted in H2Session::buffered_
  uint64_t body_bytes = 0;
  bool complete = false;  // the request is whole (dispatched) or refused
  bool refused = false;   // answered before it arrived whole; what still comes is dropped
  bool arriving = true;   // the client has not ended its side (counted in incomplete_)
  bool responded = false;
  bool head_method = false;
  std::shared_ptr<BodyConsumer> sink;  // a diverted body
  // The answer's body: bytes, or a file's range.
  std::string body;
  size_t body_off = 0;
  std::shared_ptr<FileBody> file;
  uint64_t file_sent = 0;
  std::shared_ptr<BodyStream> stream;  // or written while it is sent
};

namespace {

constexpr int32_t kStreamWindow = 1 << 20;       // per stream, advertised in SETTINGS
constexpr int32_t kConnectionWindow = 16 << 20;  // the whole connection
constexpr size_t kHeaderOverhead = 32;           // per field, as RFC 9113 counts list size
constexpr uint64_t kDrainBytes = 16 << 20;       // dropped after a refusal before a reset
// A body of known length is reserved up to this much when its head arrives (the rest
// grows as it comes: an announced length costs nothing until it is sent).
constexpr uint64_t kMaxReserveBytes = 64 << 10;

bool IsConnectionHeader(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade" || lower == "content-length";
}

// Values that differ in every answer (request ids) are not added to the HPACK table: they
// would only push out the ones that repeat (content-type, date for a second, ...).
bool Unique(std::string_view lower) {
  return lower == "x-amzn-requestid" || lower == "x-amz-id-2" || lower == "x-amz-request-id" ||
         lower == "etag";
}

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{
      reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
      static_cast<uint8_t>(Unique(name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)};
}

}  // namespace

// nghttp2's callbacks, with the session as user data.
struct H2Callbacks {
  static H2Session* Self(void* user_data) { return static_cast<H2Session*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Session* self = Self(user_data);
    auto s = std::make_unique<H2Session::Stream>();
    s->id = frame->hd.stream_id;
    s->start_ms = self->now_ms_;
    s->request.headers.reserve(12);  // an SDK's signed request: one allocation, not four
    self->streams_[s->id] = std::move(s);
    ++self->incomplete_;
    ++self->streams_open_;
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user_data) {
    H2Session* self = Self(user_data);
    H2Session::Stream* s = self->Find(frame->hd.stream_id);
    if (s == nullptr || s->complete) return 0;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers are not kept
    const size_t bytes = namelen + valuelen + kHeaderOverhead;
    s->header_bytes += bytes;
    if (s->header_bytes > self->limits_.max_header_bytes) {
      // nghttp2 resets the stream; its close callback forgets it.
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    s->buffered += bytes;
    self->buffered_ += bytes;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    Request& r = s->request;
    if (n == ":method") {
      r.method = std::move(v);
    } else if (n == ":path") {
      r.target = std::move(v);
    } else if (n == ":authority") {
      // Kept as a header too: an HTTP/2 client may sign it instead of Host (SigV4).
      if (r.FindHeader("host") == nullptr) r.headers.push_back({"host", v});
      r.headers.push_back({":authority", std::move(v)});
    } else if (!n.empty() && n[0] != ':') {
      if (n == "host") std::erase_if(r.headers, [](const Header& h) { return h.name == "host"; });
      r.headers.push_back({std::string(n), std::move(v)});
    }
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    H2Session* self = Self(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    H2Session::Stream* s = self->Find(frame->hd.stream_id);
    if (s == nullptr) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (end) self->Arrived(s);
    if (s->complete) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      Request& r = s->request;
      size_t q = r.target.find('?');
      r.path = r.target.substr(0, q);
      r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
      r.remote_address = self->remote_;
      s->head_method = r.method == "HEAD";
      if (!end) {
        // A body follows: a large one (or of unknown length) is read only once its head
        // passed the check, as over HTTP/1.1.
        uint64_t announced = 0;
        bool known = false;
        if (const std::string* cl = r.FindHeader("content-length")) {
          auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), announced);
          known = ec == std::errc() && p == cl->data() + cl->size();
        }
        if (!known || announced > self->limits_.head_check_bytes) {
          std::optional<Response> refusal = self->host_->OnHead(r, &s->sink);
          if (refusal) {
            s->sink.reset();
            self->Refuse(s, 0, {});
            self->Respond(s->id, std::move(*refusal));
            return 0;
          }
          if (s->sink) r.diverted_body = s->sink;
        }
        const uint64_t bound = s->sink ? self->limits_.max_diverted_body_bytes
                                       : static_cast<uint64_t>(self->limits_.max_body_bytes);
        if (known && announced > bound) {
          self->Refuse(s, 413, "request body too large");
        } else if (known && !s->sink) {
          // As over HTTP/1.1: one allocation for the body instead of one per DATA frame
          // (a 17 KB PutRecords came in two frames and cost two copies), up to a bound.
          s->request.body.reserve(
              static_cast<size_t>(std::min<uint64_t>(announced, kMaxReserveBytes)));
        }
        return 0;
      }
    }
    if (end) self->Dispatch(s);
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user_data) {
    H2Session* self = Self(user_data);
    H2Session::Stream* s = self->Find(stream_id);
    if (s == nullptr) return 0;
    s->body_bytes += len;
    if (s->refused) {
      // The client learns of the refusal when the answer arrives; what it sends until then
      // is dropped (no reset at once: some clients then lose the answer), up to a bound.
      if (s->body_bytes > self->limits_.max_body_bytes + kDrainBytes)
        nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
      return 0;
    }
    if (s->complete) return 0;
    std::string_view piece(reinterpret_cast<const char*>(data), len);
    if (s->sink) {
      if (s->body_bytes > self->limits_.max_diverted_body_bytes) {
        self->Refuse(s, 413, "request body too large");
      } else {
        s->sink->Consume(piece);
      }
      return 0;
    }
    if (s->body_bytes > self->limits_.max_body_bytes) {
      self->Refuse(s, 413, "request body too large");
      return 0;
    }
    s->request.body.append(piece);
    s->buffered += len;
    self->buffered_ += len;
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    H2Session* self = Self(user_data);
    auto it = self->streams_.find(stream_id);
    if (it == self->streams_.end()) return 0;
    H2Session::Stream* s = it->second.get();
    if (s->stream) s->stream->Cancel();  // its writer stops
    self->Arrived(s);
    self->Unbuffer(s);
    --self->streams_open_;
    self->streams_.erase(it);
    return 0;
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<H2Session::Stream*>(source->ptr);
    if (s->file) {
      const uint64_t left = s->file->length - s->file_sent;
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, length));
      ssize_t n = 0;
      if (want > 0) {
        do {
          n = ::pread(s->file->fd, buf, want, static_cast<off_t>(s->file->offset + s->file_sent));
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
      }
      s->file_sent += static_cast<uint64_t>(n);
      if (s->file_sent == s->file->length) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        s->file.reset();
      }
      return n;
    }
    bool finished = true;
    if (s->stream && s->body_off == s->body.size()) {  // a streamed body: what it has now
      s->body.clear();
      s->body_off = 0;
      s->stream->Take(&s->body, &finished);
      if (s->body.empty() && !finished) return NGHTTP2_ERR_DEFERRED;  // resumed on a kick
    } else if (s->stream) {
      finished = false;
    }
    size_t n = std::min(length, s->body.size() - s->body_off);
    std::memcpy(buf, s->body.data() + s->body_off, n);
    s->body_off += n;
    if (s->body_off == s->body.size() && finished) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      std::string().swap(s->body);
      s->body_off = 0;
      s->stream.reset();
    }
    return static_cast<ssize_t>(n);
  }
};

H2Session::H2Session(H2Host* host, const H2Limits& limits, std::string remote, bool tls)
    : host_(host), limits_(limits), remote_(std::move(remote)), tls_(tls) {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, H2Callbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, H2Callbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, H2Callbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, H2Callbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, H2Callbacks::OnStreamClose);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) == 0) {
    // The header block nghttp2 decodes before our per-stream check sees it.
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    nghttp2_session_server_new2(&session_, cb, this, opt);
    nghttp2_option_del(opt);
  }
  nghttp2_session_callbacks_del(cb);
  if (session_ == nullptr) return;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(limits_.max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

H2Session::~H2Session() {
  for (auto& [id, s] : streams_)
    if (s->stream) s->stream->Cancel();
  if (session_) nghttp2_session_del(session_);
}

void H2Session::Resume(int32_t stream_id) {
  if (Find(stream_id) != nullptr) nghttp2_session_resume_data(session_, stream_id);
}

H2Session::Stream* H2Session::Find(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Session::Unbuffer(Stream* s) {
  buffered_ -= s->buffered;
  s->buffered = 0;
}

void H2Session::Arrived(Stream* s) {
  if (!s->arriving) return;
  s->arriving = false;
  --incomplete_;
}

void H2Session::Dispatch(Stream* s) {
  s->complete = true;
  Unbuffer(s);
  Request request = std::move(s->request);
  s->request = Request();
  request.tls = tls_;
  request.http2 = true;
  host_->OnRequest(s->id, std::move(request));
}

void H2Session::Refuse(Stream* s, int status, std::string_view reason) {
  s->complete = true;
  s->refused = true;
  Unbuffer(s);
  s->request = Request();
  s->sink.reset();
  if (status != 0) {
    Response r = ErrorResponse(status, reason);
    if (status == 503) r.SetHeader("retry-after", "1");
    Respond(s->id, std::move(r));
  }
}

bool H2Session::Receive(std::string_view bytes) {
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (rv < 0) {
    LOG(kDebug) << "http2: " << remote_ << ": " << nghttp2_strerror(static_cast<int>(rv));
    if (!nghttp2_is_fatal(static_cast<int>(rv)))
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    return false;
  }
  return true;
}

void H2Session::Respond(int32_t stream_id, Response response) {
  Stream* s = Find(stream_id);
  if (s == nullptr || s->responded) return;  // reset by the client, or answered already
  s->responded = true;
  const int status = FinalStatus(response.status);
  // The fields point into `response` and these locals until nghttp2_submit_response copies
  // them (no string per field: answers are small and many).
  char status_text[4];
  std::to_chars(status_text, status_text + sizeof status_text, status);
  char length_text[24];
  std::vector<nghttp2_nv> nva;
  nva.reserve(response.headers.size() + 3);
  nva.push_back(Nv(":status", std::string_view(status_text, 3)));
  for (Header& h : response.headers) {
    for (char& ch : h.name)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (IsConnectionHeader(h.name)) continue;
    if (BreaksHeader(h.name) || BreaksHeader(h.value)) continue;
    nva.push_back(Nv(h.name, h.value));
  }
  const bool has_body = StatusHasBody(status);
  const bool streamed = response.stream && has_body && !s->head_method;
  uint64_t length = response.file ? response.file->length : response.body.size();
  if (s->head_method && response.head_content_length) length = *response.head_content_length;
  nva.push_back(Nv("date", HttpDateNow()));
  if (has_body && !streamed) {
    char* end = std::to_chars(length_text, length_text + sizeof length_text, length).ptr;
    nva.push_back(Nv("content-length", std::string_view(length_text, end - length_text)));
  }

  const bool send_body = streamed || (has_body && !s->head_method && length > 0);
  if (response.stream && !streamed) response.stream->Cancel();
  nghttp2_data_provider provider{};
  if (send_body) {
    s->body = std::move(response.body);
    s->body_off = 0;
    s->file = std::move(response.file);
    s->file_sent = 0;
    if (streamed) {
      s->stream = std::move(response.stream);
      s->stream->SetWake(host_->WakeFor(stream_id));
    }
    provider.source.ptr = s;
    provider.read_callback = H2Callbacks::ReadBody;
  }
  int rv = nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(),
                                   send_body ? &provider : nullptr);
  if (rv != 0) {
    LOG(kDebug) << "http2: " << remote_ << ": cannot answer stream " << stream_id << ": "
                << nghttp2_strerror(rv);
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
  }
}

bool H2Session::Produce(std::string* out, size_t max_bytes) {
  while (out->size() < max_bytes) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      LOG(kDebug) << "http2: " << remote_ << ": " << nghttp2_strerror(static_cast<int>(n));
      return false;
    }
    if (n == 0) break;
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return true;
}

bool H2Session::alive() const {
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

void H2Session::RefuseIncomplete(int status, std::string_view reason) {
  for (auto& [id, s] : streams_)
    if (!s->complete) Refuse(s.get(), status, reason);
}

void H2Session::ExpireStreams(int64_t now_ms, int64_t timeout_ms) {
  for (auto& [id, s] : streams_) {
    if (!s->arriving || now_ms - s->start_ms < timeout_ms) continue;
    LOG(kDebug) << "http2: " << remote_ << ": stream " << id << " timed out";
    if (s->complete) {  // refused, and its body still trickles in
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      Arrived(s.get());
    } else {
      Refuse(s.get(), 408, "request timeout");
    }
  }
}

void H2Session::Shutdown() { nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR); }

}  // namespace millrace::http
