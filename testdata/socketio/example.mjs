import { io } from "socket.io-client";

const base = process.argv[2] ?? "http://localhost:3000";
const register = await fetch(`${base}/auth/register`, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({
    firstName: "Ada", lastName: "Lovelace",
    email: `ada.${Date.now()}@example.com`, password: "correct horse battery",
  }),
});
const { accessToken } = await register.json();

const socket = io(base, { auth: { token: accessToken } });
socket.on("connect_error", (err) => console.error("refused:", err.message));
socket.on("newMessage", (m) => console.log(`${m.senderId}: ${m.message} (#${m.sequenceId})`));
socket.on("registered", ({ userId }) => {
  console.log("connected as", userId);
  // To a friend: answered through the ack, and by sendResult, once Kafka has it.
  // socket.emit("send", { receiverId, message: "hi", clientMessageId: crypto.randomUUID() },
  //   (answer) => console.log(answer));
  socket.disconnect();
});
