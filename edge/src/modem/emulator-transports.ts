import { Duplex } from 'node:stream';
import type { OpenOptions } from '@serialport/stream';
import { SerialPortMock } from 'serialport';
import type { ModemEmulator } from './emulator.ts';

/*
 * `@serialport/binding-mock` and `@serialport/bindings-interface` ship types only for `require`, so
 * under NodeNext their types are reached through the packages that import them.
 */
type MockBindingInterface = typeof SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<MockBindingInterface['open']>>;
type BindingInterface = OpenOptions['binding'];
type BindingPortInterface = Awaited<ReturnType<BindingInterface['open']>>;
type PortOpenOptions = Parameters<MockBindingInterface['open']>[0];

/**
 * Ways to put a {@link ModemEmulator} at the other end of the driver's serial link:
 *
 * - {@link emulatorMockBinding}: a `serialport` binding built on `@serialport/binding-mock`, so the driver
 *   runs on a real `SerialPortStream` with no device (unit tests).
 * - {@link attachEmulator}: onto any open port, e.g. one end of a `socat` pty pair while the driver
 *   opens the other end with the real `SerialPort` (integration tests, manual runs).
 * - {@link createEmulatorLink}: an in-process duplex stream (a simulated device owning its modem).
 */

/** Delegates to a mock port; writes reach the emulator, the emulator's output is the port's input. */
class EmulatedPortBinding implements BindingPortInterface {
  private readonly detach: () => void;

  constructor(
    private readonly mock: MockPortBinding,
    private readonly emulator: ModemEmulator,
  ) {
    this.detach = emulator.onOutput((bytes) => {
      if (mock.isOpen) mock.emitData(bytes);
    });
  }

  get openOptions() {
    return this.mock.openOptions;
  }

  get isOpen() {
    return this.mock.isOpen;
  }

  async close() {
    this.detach();
    await this.mock.close();
  }

  read(buffer: Buffer, offset: number, length: number) {
    return this.mock.read(buffer, offset, length);
  }

  async write(buffer: Buffer) {
    await this.mock.write(buffer);
    this.emulator.input(buffer);
  }

  update(options: { baudRate: number }) {
    return this.mock.update(options);
  }

  set(options: Parameters<MockPortBinding['set']>[0]) {
    return this.mock.set(options);
  }

  get() {
    return this.mock.get();
  }

  getBaudRate() {
    return this.mock.getBaudRate();
  }

  flush() {
    return this.mock.flush();
  }

  drain() {
    return this.mock.drain();
  }
}

/**
 * A binding for `SerialPortStream` whose ports are mock ports (`SerialPortMock.binding.createPort(path)`
 * first) with `emulatorFor(path)` answering on them.
 *
 * ```ts
 * SerialPortMock.binding.createPort('/dev/modem0');
 * // SerialPortStream from '@serialport/stream', the class `SerialPort` and `SerialPortMock` extend
 * const port = new SerialPortStream({ binding: emulatorMockBinding(() => emulator), path: '/dev/modem0', baudRate: 115200 });
 * ```
 */
export function emulatorMockBinding(
  emulatorFor: (path: string) => ModemEmulator,
  base: MockBindingInterface = SerialPortMock.binding,
): BindingInterface {
  return {
    list: () => base.list(),
    open: async (options: PortOpenOptions) =>
      new EmulatedPortBinding(await base.open(options), emulatorFor(options.path)),
  };
}

/** Wires `emulator` to an open port (`data` in, writes out); returns a function that unwires it. */
export function attachEmulator(emulator: ModemEmulator, port: Duplex): () => void {
  const onData = (chunk: Buffer) => emulator.input(chunk);
  port.on('data', onData);
  const detach = emulator.onOutput((bytes) => {
    if (!port.destroyed) port.write(bytes);
  });
  return () => {
    port.off('data', onData);
    detach();
  };
}

/**
 * An in-process serial link to `emulator`: what the host writes reaches the emulator, what the
 * emulator sends is readable. Delivery is asynchronous (next turn of the event loop), like a UART.
 * Destroying the stream detaches it (and emits `close`, which fails the driver's pending commands).
 */
export function createEmulatorLink(emulator: ModemEmulator): Duplex {
  let detach: () => void = () => {};
  const link = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      setImmediate(() => {
        emulator.input(chunk);
        callback();
      });
    },
    destroy(error, callback) {
      detach();
      callback(error);
    },
  });
  detach = emulator.onOutput((bytes) => {
    setImmediate(() => {
      if (!link.destroyed) link.push(bytes);
    });
  });
  return link;
}
