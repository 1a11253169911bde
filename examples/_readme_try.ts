import { websocket, type Link } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { WebSocket } from 'ws';

// A server that answers every number with its double, on a port the system picks.
const server = websocketServer<number>({ port: 0 }).subscribe({
  next: (event) => {
    if (event.type === 'listening') startClient(event.address);
    else {
      let link: Link<number> | undefined;
      event.connection.subscribe({
        next: (e) => (e.type === 'connected' ? (link = e.link) : link?.send(e.frame * 2)),
        // A connection's error ends that connection only; without a handler it would end the process.
        error: (error: unknown) => console.error('a client failed:', error),
      });
    }
  },
  error: (error: unknown) => console.error('the server failed:', error),
});

// A client: subscribing dials; `connected` carries the Link to send on; frames follow.
function startClient(url: string) {
  const client = websocket<number>({ url, WebSocket }).subscribe({
    next: (event) => {
      if (event.type === 'connected') event.link.send(21);
      else {
        console.log('received', event.frame); // received 42
        client.unsubscribe(); // unsubscribing closes the socket...
        server.unsubscribe(); // ...and the server, with every connection it accepted
      }
    },
    error: (error: unknown) => console.error('the connection failed:', error),
  });
}
