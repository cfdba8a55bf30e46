#include "support/member.hpp"

#include "support/catch.hpp"
#include "support/daemon_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace squib::test {

namespace {

std::string unique_name(const std::string& stem) { return "sqt" + std::to_string(::getpid()) + stem; }

// useradd, userdel, groupadd and groupdel lock /etc/passwd and /etc/group and fail (not
// wait) when another holds the lock: ctest -j runs several test processes at once, so ours
// take turns through one flock first.
int run_account_tool(const std::string& command) {
  const int lock = ::open("/tmp/squib-test-accounts.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  const int status = std::system(command.c_str());
  if (lock >= 0) ::close(lock);
  return status;
}

void run_or_throw(const std::string& command) {
  if (run_account_tool(command) != 0) throw std::runtime_error("failed: " + command);
}

void send_fd(int channel, int fd, int error) {
  char status = static_cast<char>(error);
  iovec iov{&status, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  }
  (void)::sendmsg(channel, &msg, MSG_NOSIGNAL);
}

}  // namespace

TestGroup::TestGroup(const std::string& stem) : m_name(unique_name(stem)) {
  run_account_tool("groupdel " + m_name + " 2>/dev/null");  // left by a killed run
  run_or_throw("groupadd --system " + m_name);
  const group* entry = ::getgrnam(m_name.c_str());
  if (entry == nullptr) throw std::runtime_error("no group " + m_name + " after groupadd");
  m_gid = entry->gr_gid;
}

TestGroup::~TestGroup() { run_account_tool("groupdel " + m_name); }

TestAccount::TestAccount(const std::string& stem, const std::string& supplementary) : m_name(unique_name(stem)) {
  run_account_tool("userdel " + m_name + " 2>/dev/null");  // left by a killed run
  run_or_throw("useradd --system --no-create-home --shell /usr/sbin/nologin --user-group " +
               (supplementary.empty() ? std::string() : "--groups " + supplementary + " ") + m_name);
  const passwd* entry = ::getpwnam(m_name.c_str());
  if (entry == nullptr) throw std::runtime_error("no user " + m_name + " after useradd");
  m_uid = entry->pw_uid;
  m_gid = entry->pw_gid;
}

TestAccount::~TestAccount() { run_account_tool("userdel " + m_name); }

MemberProcess::MemberProcess(const TestAccount& account) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) throw std::runtime_error("socketpair");
  m_pid = ::fork();
  if (m_pid < 0) throw std::runtime_error("fork");
  if (m_pid == 0) {
    ::close(pair[0]);
    if (::initgroups(account.name().c_str(), account.gid()) != 0 || ::setgid(account.gid()) != 0 ||
        ::setuid(account.uid()) != 0) {
      ::_exit(100);
    }
    std::string path;
    char buffer[512];
    for (;;) {
      const ssize_t n = ::read(pair[1], buffer, sizeof buffer);
      if (n <= 0) ::_exit(0);
      path.assign(buffer, static_cast<std::size_t>(n));
      auto client = proto::ControlClient::connect(path, std::chrono::seconds(5));
      if (!client) {
        send_fd(pair[1], -1, client.error().code == 0 ? 1 : client.error().code);
        continue;
      }
      const int fd = client.value().release();
      send_fd(pair[1], fd, 0);
      ::close(fd);  // the test's copy is now the only one: its close ends the connection
    }
  }
  ::close(pair[1]);
  m_channel = pair[0];
}

MemberProcess::~MemberProcess() {
  if (m_channel >= 0) ::close(m_channel);  // the member process sees EOF and exits
  if (m_pid > 0) {
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
}

core::Result<proto::ControlClient> MemberProcess::connect(const std::string& control_path) {
  if (::write(m_channel, control_path.data(), control_path.size()) != static_cast<ssize_t>(control_path.size())) {
    return core::Error::from_errno("member channel write");
  }
  char status = 0;
  iovec iov{&status, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(m_channel, &msg, MSG_CMSG_CLOEXEC) != 1) return core::Error::from_errno("member channel read");
  if (status != 0) return core::Error{status, std::string("member connect: ") + std::strerror(status)};
  const cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return core::Error{EPROTO, "member sent no fd"};
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return proto::ControlClient::adopt(fd);
}

int run_as_account(const TestAccount& account, const std::string& command, std::string& output) {
  const std::string line = "setpriv --reuid=" + std::to_string(account.uid()) +
                           " --regid=" + std::to_string(account.gid()) + " --init-groups /bin/sh -c '" + command +
                           "' 2>&1";
  auto run = run_command(line);
  output = std::move(run.output);
  return run.exit_code;
}

proto::Response call(proto::ControlClient& client, const std::string& method, const nlohmann::json& params) {
  auto response = client.call(method, params);
  INFO(method << " " << params.dump());
  REQUIRE(response.ok());
  return response.value();
}

nlohmann::json ok(proto::ControlClient& client, const std::string& method, const nlohmann::json& params) {
  const auto response = call(client, method, params);
  INFO(method << " " << params.dump() << " failed: " << response.error_message);
  REQUIRE(response.ok());
  return *response.result;
}

}  // namespace squib::test
