#include <squib/uv/program_run.hpp>

#include <csignal>
#include <memory>

#include <squib/uv/handle.hpp>

namespace squib::uv {

namespace {

class Run {
 public:
  Run(uv_loop_t* loop, ProgramRun run, std::function<void(core::Result<std::string>)> done)
      : m_loop(loop), m_run(std::move(run)), m_done(std::move(done)) {}

  // Returns false when nothing was started (then `done` has run with the error).
  bool start() {
    for (auto* pipe : {&m_stdin, &m_stdout, &m_stderr}) {
      if (const int rc = uv_pipe_init(m_loop, pipe->get(), 0); rc != 0) return fail("uv_pipe_init", rc);
      (*pipe)->data = this;
    }
    std::vector<char*> argv;
    argv.push_back(m_run.program.data());
    for (auto& arg : m_run.args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
    stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(m_stdin.get());
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(m_stdout.get());
    stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(m_stderr.get());
    uv_process_options_t options{};
    options.file = m_run.program.c_str();
    options.args = argv.data();
    options.stdio = stdio;
    options.stdio_count = 3;
    options.exit_cb = [](uv_process_t* process, std::int64_t status, int signal) {
      if (auto* self = owner_of<Run>(process)) self->exited(status, signal);
    };
    m_process->data = this;
    if (const int rc = uv_spawn(m_loop, m_process.get(), &options); rc != 0) return fail("spawn " + m_run.program, rc);

    if (const int rc = uv_timer_init(m_loop, m_timer.get()); rc == 0) {
      m_timer->data = this;
      uv_timer_start(
          m_timer.get(),
          [](uv_timer_t* timer) {
            auto* self = owner_of<Run>(timer);
            if (self == nullptr) return;
            self->m_timed_out = true;
            uv_process_kill(self->m_process.get(), SIGKILL);
          },
          static_cast<std::uint64_t>(m_run.timeout.count()), 0);
    }
    for (auto* pipe : {&m_stdout, &m_stderr}) {
      const int rc = uv_read_start(
          reinterpret_cast<uv_stream_t*>(pipe->get()),
          [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
            static thread_local char buffer[4096];
            *buf = uv_buf_init(buffer, sizeof buffer);
          },
          [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
            auto* self = owner_of<Run>(stream);
            if (self == nullptr) return;
            std::string& text =
                stream == reinterpret_cast<uv_stream_t*>(self->m_stdout.get()) ? self->m_out : self->m_err;
            if (n > 0) {
              text.append(buf->base, static_cast<std::size_t>(n));
            } else if (n < 0) {  // EOF or an error: this stream is done
              uv_read_stop(stream);
              --self->m_open_streams;
              self->maybe_finish();
            }
          });
      if (rc != 0) --m_open_streams;
    }
    // stdin: the whole input in one write, then EOF (closing our end). The request owns its
    // bytes and outlives this run if need be: libuv completes it (ECANCELED) after the close.
    if (m_run.input.empty()) {
      m_stdin.close();
      return true;
    }
    auto write = std::make_unique<StdinWrite>();
    write->data = std::move(m_run.input);
    write->owner = this;
    write->req.data = write.get();
    const uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
    const int rc =
        uv_write(&write->req, reinterpret_cast<uv_stream_t*>(m_stdin.get()), &buf, 1, [](uv_write_t* req, int) {
          std::unique_ptr<StdinWrite> done_write(static_cast<StdinWrite*>(req->data));
          // The child may have exited without reading (EPIPE): its stderr says why.
          if (Run* self = done_write->owner) {
            self->m_write = nullptr;
            self->m_stdin.close();
          }
        });
    if (rc != 0) {
      m_stdin.close();
      return true;
    }
    m_write = write.release();
    return true;
  }

  ~Run() {
    if (m_write != nullptr) m_write->owner = nullptr;
  }

 private:
  bool fail(const std::string& what, int rc) {
    auto done = std::move(m_done);
    delete this;
    done(core::Error{-rc, what + ": " + uv_strerror(rc)});
    return false;
  }

  void exited(std::int64_t status, int signal) {
    m_exited = true;
    m_status = status;
    m_signal = signal;
    m_timer.close();
    maybe_finish();
  }

  void maybe_finish() {
    if (!m_exited || m_open_streams > 0) return;
    auto done = std::move(m_done);
    core::Result<std::string> result = std::move(m_out);
    if (m_timed_out) {
      result =
          core::Error{ETIMEDOUT, m_run.program + " timed out after " + std::to_string(m_run.timeout.count()) + " ms"};
    } else if (m_signal != 0) {
      result = core::Error{EINTR, m_run.program + " killed by signal " + std::to_string(m_signal)};
    } else if (m_status != 0) {
      while (!m_err.empty() && (m_err.back() == '\n' || m_err.back() == ' ')) m_err.pop_back();
      result = core::Error{EIO, m_run.program + " exited with status " + std::to_string(m_status) +
                                    (m_err.empty() ? std::string() : ": " + m_err)};
    }
    delete this;  // closes every handle; no callback of them reaches this object again
    done(std::move(result));
  }

  uv_loop_t* m_loop;
  ProgramRun m_run;
  std::function<void(core::Result<std::string>)> m_done;
  Handle<uv_process_t> m_process;
  Handle<uv_pipe_t> m_stdin;
  Handle<uv_pipe_t> m_stdout;
  Handle<uv_pipe_t> m_stderr;
  Handle<uv_timer_t> m_timer;
  struct StdinWrite {
    uv_write_t req{};
    std::string data;
    Run* owner = nullptr;
  };
  StdinWrite* m_write = nullptr;  // in flight; freed by its callback
  std::string m_out;
  std::string m_err;
  int m_open_streams = 2;
  bool m_exited = false;
  bool m_timed_out = false;
  std::int64_t m_status = 0;
  int m_signal = 0;
};

}  // namespace

void run_program(uv_loop_t* loop, ProgramRun run, std::function<void(core::Result<std::string>)> done) {
  auto* pending = new Run(loop, std::move(run), std::move(done));  // frees itself when done
  pending->start();
}

}  // namespace squib::uv
