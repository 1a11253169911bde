import net from 'node:net';
import { once } from 'node:events';
import { expect } from 'chai';
import { dialRate, peakInWindow, stormChart, stormOne, type StormResult } from '../../bench/peers/storm.js';
import { surviveOne } from '../../bench/peers/survival.js';
import { lineChart, niceStep } from '../../bench/peers/svg-chart.js';
import { tallySequence } from '../../bench/peers/tally.js';
import { TcpProxy } from '../../bench/peers/tcp-proxy.js';

// The peers benchmark's counting, its chart, its proxy, and a tiny run of each section over real
// processes: what they count, never how fast.

describe('bench: peers survival and restart storm', () => {
  describe('tallySequence', () => {
    it('counts nothing amiss for 1..n in order', () => {
      expect(tallySequence(4, [1, 2, 3, 4])).to.deep.equal({
        sent: 4,
        lost: 0,
        duplicated: 0,
        reordered: 0,
        unknown: 0,
      });
    });

    it('counts lost, duplicated, reordered and unknown numbers apart', () => {
      // 3 never arrives; 2 arrives twice; 4 arrives after 5; 9 was never sent.
      expect(tallySequence(6, [1, 2, 2, 5, 4, 6, 9])).to.deep.equal({
        sent: 6,
        lost: 1,
        duplicated: 1,
        reordered: 1,
        unknown: 1,
      });
      expect(tallySequence(3, [])).to.include({ lost: 3 });
      expect(tallySequence(0, [])).to.include({ lost: 0, unknown: 0 });
    });

    it('refuses a count that is not a whole number', () => {
      expect(() => tallySequence(-1, [])).to.throw(TypeError, /sent must be a whole number/);
      expect(() => tallySequence(1.5, [])).to.throw(TypeError);
    });
  });

  describe('dial rates', () => {
    it('peakInWindow finds the busiest window', () => {
      expect(peakInWindow([], 1_000)).to.equal(0);
      expect(peakInWindow([0, 100, 999, 1_000, 1_500, 1_600], 1_000)).to.equal(4); // 100 … 1_000
    });

    it('dialRate counts per 250 ms bucket, shown per second', () => {
      expect(dialRate([-900, 0, 10, 260, 5_000], -1_000, 500)).to.deep.equal([
        [-1, 4],
        [-0.75, 0],
        [-0.5, 0],
        [-0.25, 0],
        [0, 8],
        [0.25, 4],
      ]);
    });
  });

  describe('lineChart', () => {
    it('draws one polyline and one legend entry per series, inside its view box', () => {
      const svg = lineChart(
        [
          {
            name: 'a <b>',
            points: [
              [0, 1],
              [1, 50],
              [2, 3],
            ],
          },
          {
            name: 'c',
            points: [
              [0, 0],
              [2, 120],
            ],
          },
        ],
        { title: 'T', xLabel: 'x', yLabel: 'y', width: 400, height: 200 },
      );
      expect(svg).to.match(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 400 200"/);
      expect(svg.trimEnd()).to.match(/<\/svg>$/);
      expect(svg.match(/<polyline /g)).to.have.length(2);
      expect(svg).to.include('a &lt;b&gt;').and.not.include('<b>');
      const points = [...svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1]!.split(' '));
      expect(points.map((p) => p.length)).to.deep.equal([3, 2]);
      for (const [x, y] of points.flat().map((p) => p.split(',').map(Number))) {
        expect(x).to.be.within(0, 400);
        expect(y).to.be.within(0, 200);
      }
    });

    it('refuses an empty chart', () => {
      expect(() => lineChart([], { title: '', xLabel: '', yLabel: '' })).to.throw(
        TypeError,
        /at least one series/,
      );
    });

    it('picks round steps', () => {
      expect([niceStep(800, 5), niceStep(7, 10), niceStep(0, 5)]).to.deep.equal([200, 1, 1]);
    });
  });

  describe('TcpProxy', () => {
    it('forwards, counts each dial, cuts a live connection, and refuses dials while the server is down', async () => {
      const server = net.createServer((socket) => socket.on('error', () => undefined).pipe(socket)); // echo
      await once(server.listen(0, '127.0.0.1'), 'listening');
      const target = (server.address() as net.AddressInfo).port;
      const proxy = await TcpProxy.listen(target);
      try {
        const client = net.connect({ port: proxy.port, host: '127.0.0.1' });
        client.on('error', () => undefined); // the cut resets it
        client.write('ping');
        const [echo] = await once(client, 'data');
        expect(String(echo)).to.equal('ping');
        expect(proxy.dials).to.have.length(1);
        expect(proxy.live).to.equal(1);
        expect(proxy.cut(7)).to.equal(true);
        await new Promise((resolve) => client.once('close', resolve)); // once() would reject on the reset
        expect(proxy.cut(0)).to.equal(false);

        await new Promise<void>((resolve) => server.close(() => resolve()));
        const refused = net.connect({ port: proxy.port, host: '127.0.0.1' });
        refused.on('error', () => undefined);
        await new Promise((resolve) => refused.once('close', resolve));
        expect(proxy.dials).to.have.length(2);
        expect(proxy.live).to.equal(0);
      } finally {
        await proxy.close();
        if (server.listening) server.close();
      }
    });
  });

  describe('tiny runs over real processes', function () {
    this.timeout(90_000);

    it('survival: 2 s of cuts on lifeline tcp, every message and request counted, none lost', async () => {
      const result = await surviveOne('lifeline tcp', 2_000, 1);
      expect(result.cuts).to.be.greaterThan(0);
      for (const tally of [result.toServer, result.toClient]) {
        expect(tally.sent).to.be.greaterThan(0);
        expect(tally).to.include({ lost: 0, duplicated: 0, reordered: 0, unknown: 0 });
      }
      expect(result.requests!.issued).to.be.greaterThan(0);
      expect(result.requests).to.include({ wrong: 0, failed: 0, pending: 0 });
      expect(result.requests!.answered).to.equal(result.requests!.issued);
    });

    it('survival: partysocket has no requests, and its plain server loses what it sends while the client is away', async () => {
      const result = await surviveOne('partysocket', 2_000, 1);
      expect(result.requests).to.equal(undefined);
      expect(result.cuts).to.be.greaterThan(0);
      expect(result.toClient.lost).to.be.greaterThan(0);
    });

    it('storm: 20 socket.io clients come back after a SIGKILL, each without its session, and the chart has its line', async () => {
      const result: StormResult = await stormOne('socket.io', 20, 1, 30_000);
      expect(result.back).to.equal(20);
      expect(result.allBackMs).to.be.a('number');
      expect(result.kept).to.equal(0); // the in-memory recovery died with the process
      expect(result.fresh).to.equal(20);
      expect(result.dials).to.be.at.least(20 + result.dialsWhileDown);
      expect(result.peakPerSecond).to.be.at.least(result.peakAfterRestart);
      const svg = stormChart([result]);
      expect(svg.match(/<polyline /g)).to.have.length(1);
      expect(svg).to.include('>socket.io<');
    });

    it('storm: 20 lifeline clients keep their sessions through a SIGKILL, in the benchmark’s own redis-server', async () => {
      const result: StormResult = await stormOne('lifeline recommended', 20, 1, 30_000);
      expect(result.back).to.equal(20);
      expect(result.kept).to.equal(20); // resumed from Redis: no SessionLostError, no reset
      expect(result.fresh).to.equal(0);
    });
  });
});
