#if canImport(Glibc)
import Glibc
#endif

/// Batches of lines handed from one thread to another, at most `capacity` waiting: the report
/// reads and translates another MTA's log on one core while a second applies the events to the
/// store and analyses them. Blocking both ways (a full pipe stops the reader, an empty one the
/// applier), so memory stays bounded by a few batches whatever the log's size.
final class BatchPipe: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [LineBatch] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        changed.deallocate()
    }

    func put(_ batch: LineBatch) {
        pthread_mutex_lock(lock)
        while queue.count >= capacity { pthread_cond_wait(changed, lock) }
        queue.append(batch)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }

    /// The next batch; nil once the pipe is closed and empty.
    func take() -> LineBatch? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while queue.isEmpty, !closed { pthread_cond_wait(changed, lock) }
        guard !queue.isEmpty else { return nil }
        let b = queue.removeFirst()
        pthread_cond_broadcast(changed)
        return b
    }

    func close() {
        pthread_mutex_lock(lock)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }
}

/// Runs `body` on a thread of its own; `join()` waits for it.
final class Worker: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.body()
            return nil
        }, context)
    }

    func join() { pthread_join(thread, nil) }
}

/// A pointer one thread lends another for the length of a join: the report's applier stage
/// works on the builder through it while the reading stage touches only its own locals.
struct UnsafeSendable<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
