// Tests of squib/service/control_server.hpp over its real AF_UNIX socket, served by the real
// Dispatcher over a real (empty) AttachmentRegistry on a real loop — only requests that are
// answered at once (`list`) are used, so no backend is ever started. The clients are plain
// sockets in the test; their readability is a uv_poll on the same loop, so every wait is
// "run the loop until the line (or EOF) arrives", never a sleep. What is proved: the socket
// file's mode, one reply line per request in request order, the exact refusal lines of each
// limit (line length, connections, per-uid connections, non-members) followed by EOF, the
// idle close, stale-socket replacement, and close().

#include <squib/service/control_server.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <uv.h>

#include <squib/service/attachment_registry.hpp>
#include <squib/service/backend_factory.hpp>
#include <squib/service/dispatcher.hpp>

#include "support/catch.hpp"

namespace {

using squib::service::ControlServer;
using squib::service::DaemonConfig;

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A control client: a non-blocking connected socket plus a poll handle on the test's loop
// that gathers what the server sends.
class Client {
public:
  Client(uv_loop_t* loop, int fd) : m_fd(fd), m_poll(new uv_poll_t{}) {
    REQUIRE(::fcntl(m_fd, F_SETFL, ::fcntl(m_fd, F_GETFL) | O_NONBLOCK) == 0);
    REQUIRE(uv_poll_init(loop, m_poll, m_fd) == 0);
    m_poll->data = this;
  }
  static std::unique_ptr<Client> connect(uv_loop_t* loop, const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const auto addr = address_of(path);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    return std::make_unique<Client>(loop, fd);
  }
  ~Client() {
    uv_close(reinterpret_cast<uv_handle_t*>(m_poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    ::close(m_fd);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void writes(const std::string& bytes) const {
    REQUIRE(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // The next line from the server (without its newline), or nullopt once it has closed the
  // connection; runs the loop until one of the two happens.
  std::optional<std::string> next_line(uv_loop_t* loop) {
    REQUIRE(uv_poll_start(m_poll, UV_READABLE, [](uv_poll_t* handle, int, int) {
              static_cast<Client*>(handle->data)->gather();
            }) == 0);
    while (m_received.find('\n') == std::string::npos && !m_eof && uv_run(loop, UV_RUN_ONCE) != 0) {
    }
    uv_poll_stop(m_poll);
    const auto newline = m_received.find('\n');
    if (newline == std::string::npos) {
      REQUIRE(m_eof);
      return std::nullopt;
    }
    std::string line = m_received.substr(0, newline);
    m_received.erase(0, newline + 1);
    return line;
  }

private:
  void gather() {
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        m_received.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        m_eof = true;
        uv_poll_stop(m_poll);
      }
      return;
    }
  }

  int m_fd;
  uv_poll_t* m_poll;
  std::string m_received;
  bool m_eof = false;
};

// A loop, a run dir, the real registry and dispatcher, and a ControlServer (not yet
// listening: tests adjust the config first). On destruction everything is closed, the
// loop run dry and uv_loop_close() required to be 0.
class Fixture {
public:
  Fixture() {
    char templ[] = "/tmp/squib-control-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    config.run_dir = templ;
    config.control_path = config.run_dir + "/control.sock";
    REQUIRE(uv_loop_init(&loop) == 0);
    m_factory = std::make_unique<squib::service::BackendFactory>(config);
    m_registry = std::make_unique<squib::service::AttachmentRegistry>(&loop, config, *m_factory);
    m_dispatcher = std::make_unique<squib::service::Dispatcher>(*m_registry, config);
    server = std::make_unique<ControlServer>(&loop, config, *m_dispatcher);
  }
  ~Fixture() {
    clients.clear();
    server.reset();
    m_dispatcher.reset();
    m_registry.reset();
    m_factory.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
    std::error_code ignored;
    std::filesystem::remove_all(config.run_dir, ignored);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  Client& connect() {
    clients.push_back(Client::connect(&loop, config.control_path));
    return *clients.back();
  }
  Client& adopt(int fd) {
    clients.push_back(std::make_unique<Client>(&loop, fd));
    return *clients.back();
  }
  // What the dispatcher itself answers to `line` from root (answered at once for `list`).
  std::string dispatcher_answer(const std::string& line) {
    std::optional<std::string> answer;
    m_dispatcher->handle(line, {::getpid(), 0, 0}, [&](std::string reply, squib::core::Fd) { answer = reply; });
    REQUIRE(answer);
    return *answer;
  }
  // Runs the loop until `condition` holds (or nothing is left to wait for).
  template <typename Condition>
  void run_until(Condition condition) {
    while (!condition() && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    REQUIRE(condition());
  }

  DaemonConfig config;
  uv_loop_t loop{};
  std::unique_ptr<ControlServer> server;
  std::vector<std::unique_ptr<Client>> clients;

private:
  std::unique_ptr<squib::service::BackendFactory> m_factory;
  std::unique_ptr<squib::service::AttachmentRegistry> m_registry;
  std::unique_ptr<squib::service::Dispatcher> m_dispatcher;
};

const std::string k_list_1 = R"({"jsonrpc":"2.0","id":1,"method":"list"})";
const std::string k_list_2 = R"({"jsonrpc":"2.0","id":2,"method":"list"})";

// Connects to `path` from a forked child that has become uid/gid (no supplementary
// groups), and returns the connected fd, passed back with SCM_RIGHTS. SO_PEERCRED records
// the credentials at connect(), so the server sees that uid whoever holds the fd later.
int connect_as(const std::string& path, uid_t uid, gid_t gid) {
  int link[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, link) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: only async-signal-safe calls, then _exit.
    int fd = -1;
    if (::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 && ::setresuid(uid, uid, uid) == 0) {
      fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) fd = -1;
    }
    if (fd < 0) ::_exit(1);
    char byte = 'x';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ::_exit(::sendmsg(link[1], &msg, 0) == 1 ? 0 : 2);
  }
  ::close(link[1]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  REQUIRE(::recvmsg(link[0], &msg, MSG_CMSG_CLOEXEC) == 1);
  ::close(link[0]);
  const cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  REQUIRE(cmsg != nullptr);
  REQUIRE(cmsg->cmsg_type == SCM_RIGHTS);
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return fd;
}

}  // namespace

TEST_CASE("ControlServer::listen creates the socket 0660, replaces a stale one, refuses anything else",
          "[service][control_server]") {
  Fixture fixture;
  SECTION("a fresh path") {
    REQUIRE(fixture.server->listen().ok());
    struct stat st {};
    REQUIRE(::lstat(fixture.config.control_path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
  }
  SECTION("a stale socket file is replaced") {
    const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const auto addr = address_of(fixture.config.control_path);
    REQUIRE(::bind(stale, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    ::close(stale);
    REQUIRE(fixture.server->listen().ok());
    auto& client = fixture.connect();
    client.writes(k_list_1 + "\n");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  }
  SECTION("a regular file is left alone") {
    const int file = ::open(fixture.config.control_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    REQUIRE(file >= 0);
    ::close(file);
    const auto listened = fixture.server->listen();
    REQUIRE_FALSE(listened.ok());
    CHECK(listened.error().code == EEXIST);
    CHECK(listened.error().message ==
          fixture.config.control_path + " exists and is not a socket; refusing to replace it");
    struct stat st {};
    REQUIRE(::lstat(fixture.config.control_path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
  }
}

TEST_CASE("ControlServer answers each request line with the dispatcher's line, in request order",
          "[service][control_server]") {
  Fixture fixture;
  REQUIRE(fixture.server->listen().ok());
  auto& client = fixture.connect();
  SECTION("one request") {
    client.writes(k_list_1 + "\n");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
    CHECK(fixture.server->connections() == 1);
  }
  SECTION("pipelined in one write, with CRLF and blank lines between") {
    client.writes(k_list_1 + "\r\n\n   \n" + k_list_2 + "\n");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_2));
  }
  SECTION("a request split across writes") {
    client.writes(k_list_1.substr(0, 10));
    client.writes(k_list_1.substr(10) + "\n");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  }
  SECTION("a malformed line gets the dispatcher's error and the connection stays usable") {
    client.writes("{oops\n" + k_list_2 + "\n");
    CHECK(client.next_line(&fixture.loop) ==
          R"J({"error":{"code":-32700,"message":"parse error: invalid JSON"},"id":null,"jsonrpc":"2.0"})J");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_2));
  }
}

TEST_CASE("ControlServer: a line over max_line gets -32600 and the connection is closed", "[service][control_server]") {
  Fixture fixture;
  fixture.config.max_line = 64;
  REQUIRE(fixture.server->listen().ok());
  auto& client = fixture.connect();
  const std::string expected =
      R"({"error":{"code":-32600,"message":"request line exceeds 64 bytes"},"id":null,"jsonrpc":"2.0"})";
  SECTION("a complete line") { client.writes(std::string(65, 'x') + "\n"); }
  SECTION("no newline yet, already over the limit") { client.writes(std::string(100, 'x')); }
  CHECK(client.next_line(&fixture.loop) == expected);
  CHECK(client.next_line(&fixture.loop) == std::nullopt);
  fixture.run_until([&] { return fixture.server->connections() == 0; });
}

TEST_CASE("ControlServer: beyond max_connections a client gets -32005 and is closed, the others are served",
          "[service][control_server]") {
  Fixture fixture;
  fixture.config.max_connections = 1;
  REQUIRE(fixture.server->listen().ok());
  auto& first = fixture.connect();
  first.writes(k_list_1 + "\n");
  REQUIRE(first.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  auto& second = fixture.connect();
  CHECK(second.next_line(&fixture.loop) ==
        R"J({"error":{"code":-32005,"message":"too many control connections (limit 1)"},"id":null,"jsonrpc":"2.0"})J");
  CHECK(second.next_line(&fixture.loop) == std::nullopt);
  CHECK(fixture.server->connections() == 1);
  first.writes(k_list_2 + "\n");
  CHECK(first.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_2));
}

TEST_CASE("ControlServer closes a connection idle for idle_timeout", "[service][control_server]") {
  Fixture fixture;
  fixture.config.idle_timeout = std::chrono::milliseconds(20);
  REQUIRE(fixture.server->listen().ok());
  auto& client = fixture.connect();
  SECTION("silent from the start") {}
  SECTION("after a request") {
    client.writes(k_list_1 + "\n");
    CHECK(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  }
  SECTION("trickling bytes without a newline does not keep it open") { client.writes("{\"jsonrpc\""); }
  CHECK(client.next_line(&fixture.loop) == std::nullopt);
  fixture.run_until([&] { return fixture.server->connections() == 0; });
}

TEST_CASE("ControlServer::close closes every connection and removes the socket file", "[service][control_server]") {
  Fixture fixture;
  REQUIRE(fixture.server->listen().ok());
  auto& client = fixture.connect();
  client.writes(k_list_1 + "\n");
  REQUIRE(client.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  fixture.server->close();
  CHECK(fixture.server->connections() == 0);
  CHECK(client.next_line(&fixture.loop) == std::nullopt);
  struct stat st {};
  CHECK(::lstat(fixture.config.control_path.c_str(), &st) == -1);
  fixture.server->close();  // twice is harmless
}

TEST_CASE("ControlServer refuses a peer that is neither root nor in the control group with -32003",
          "[service][control_server]") {
  Fixture fixture;
  REQUIRE(fixture.server->listen().ok());
  // Open the path to everyone so the refusal comes from the credentials check, not from the
  // file mode (which alone keeps non-members out in the daemon).
  REQUIRE(::chmod(fixture.config.run_dir.c_str(), 0711) == 0);
  REQUIRE(::chmod(fixture.config.control_path.c_str(), 0666) == 0);
  auto& stranger = fixture.adopt(connect_as(fixture.config.control_path, 65534, 65534));
  CHECK(stranger.next_line(&fixture.loop) ==
        R"J({"error":{"code":-32003,"message":"permission denied: uid 65534 is not root and not in the daemon's control group"},"id":null,"jsonrpc":"2.0"})J");
  CHECK(stranger.next_line(&fixture.loop) == std::nullopt);
  fixture.run_until([&] { return fixture.server->connections() == 0; });
}

TEST_CASE("ControlServer holds a member uid to max_connections_per_uid, root to none", "[service][control_server]") {
  Fixture fixture;
  const gid_t group = 4242;
  fixture.config.group = group;
  fixture.config.max_connections_per_uid = 1;
  REQUIRE(fixture.server->listen().ok());
  REQUIRE(::chmod(fixture.config.run_dir.c_str(), 0711) == 0);
  struct stat st {};
  REQUIRE(::lstat(fixture.config.control_path.c_str(), &st) == 0);
  CHECK(st.st_gid == group);
  auto& member = fixture.adopt(connect_as(fixture.config.control_path, 1000, group));
  member.writes(k_list_1 + "\n");
  // A member sees only its own attachments; with none, the same answer as root's.
  CHECK(member.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  auto& again = fixture.adopt(connect_as(fixture.config.control_path, 1000, group));
  CHECK(again.next_line(&fixture.loop) ==
        R"J({"error":{"code":-32005,"message":"uid 1000 already has 1 control connections (the per-uid limit, --max-connections-per-uid)"},"id":null,"jsonrpc":"2.0"})J");
  CHECK(again.next_line(&fixture.loop) == std::nullopt);
  // Another member uid and root are not held by uid 1000's count.
  auto& other = fixture.adopt(connect_as(fixture.config.control_path, 1001, group));
  other.writes(k_list_2 + "\n");
  CHECK(other.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_2));
  auto& root1 = fixture.connect();
  auto& root2 = fixture.connect();
  root1.writes(k_list_1 + "\n");
  root2.writes(k_list_2 + "\n");
  CHECK(root1.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_1));
  CHECK(root2.next_line(&fixture.loop) == fixture.dispatcher_answer(k_list_2));
  CHECK(fixture.server->connections() == 4);
}
