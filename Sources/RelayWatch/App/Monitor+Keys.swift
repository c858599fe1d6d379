import RelayCore

extension Monitor {
    /// A key: first whatever is modal (the help, the filter being typed, a question), then the
    /// key table's command for this screen.
    mutating func key(_ k: Key) -> [Effect] {
        if let top = helpTop {
            switch k {
            case .interrupt: return [.quit]
            case .down, .char("j"): scrollHelp(top, 1)
            case .up, .char("k"): scrollHelp(top, -1)
            case .pageDown: scrollHelp(top, max(1, layout.body.height - 2))
            case .pageUp: scrollHelp(top, -max(1, layout.body.height - 2))
            default: helpTop = nil
            }
            return []
        }
        if let text = editingFilter { return filterKey(k, text) }
        if let pending = confirming { return confirmKey(k, pending) }
        guard let command = KeyMap.command(for: k, on: screen.kind) else { return [] }
        return perform(command)
    }

    mutating func perform(_ command: Command) -> [Effect] {
        switch command {
        case .quit: return [.quit]
        case .help: helpTop = 0
        case .theme:
            themeIndex = (themeIndex + 1) % max(1, themeNames.count)
            say("theme \(themeName)")
            return [.loadTheme(themeName)]
        case .up: move(-1)
        case .down: move(1)
        case .pageUp: move(-pageRows)
        case .pageDown: move(pageRows)
        case .first: move(-Int.max / 2)
        case .last: move(Int.max / 2)
        case .open:
            if let id = shownSelection { open(id) }
        case .back:
            screen = .list
            detail = nil
        case .expand: expandOrCollapse(expand: true)
        case .collapse: expandOrCollapse(expand: false)
        case .nextTab: switchTab(1)
        case .previousTab: switchTab(-1)
        case .nextFlagged: jumpToFlagged(forward: true)
        case .previousFlagged: jumpToFlagged(forward: false)
        case .showDestination:
            if destinationCursor < destinationRows.count { filterTo(destination: destinationRows[destinationCursor].name) }
        case .acknowledge: acknowledgeSelected()
        case .acknowledgeAll: acknowledgeShown()
        case .retry: askRetry(markedOnly: false)
        case .retryMarked: askRetry(markedOnly: true)
        case .mark: toggleMark()
        case .hold: return act(.hold(msg: actedOnID ?? ""))
        case .release: return act(.release(msg: actedOnID ?? ""))
        case .filter: editingFilter = filter.source
        case .clearFilter:
            if !filter.isEmpty {
                filter = MessageFilter("")
                reorder()
                say("filter cleared")
            }
        case .everything:
            view = view == .everything ? .standard : .everything
            // The footer says which view is on; an older notice would only crowd it.
            status = nil
            reorder()
            if view == .standard { say("back to the usual list: in flight, then findings, then the latest finished") }
        case .findingsOnly:
            view = view == .findings ? .standard : .findings
            status = nil
            reorder()
            if view == .standard { say("back to the usual list: in flight, then findings, then the latest finished") }
        case .sort:
            let all = Sort.allCases
            sort = all[(all.firstIndex(of: sort)! + 1) % all.count]
            reorder()
            say("sorted by \(sort.rawValue)")
        case .destinations:
            screen = .destinations
            detail = nil
            rebuildDestinations()
        }
        return []
    }

    /// Scrolls the help, no further than its last line at the bottom of the body.
    mutating func scrollHelp(_ top: Int, _ delta: Int) {
        let last = max(0, KeyMap.helpLines(relay: live.link != nil).count - layout.body.height)
        helpTop = max(0, min(last, top + delta))
    }

    /// Rows a page moves on this screen.
    var pageRows: Int {
        switch screen {
        case .list, .destinations: return pageSize
        case .message(_, let tab): return max(1, messageLayout.rows(tab).height)
        }
    }

    /// Moves the list's selection, the open message's cursor, or the destinations' cursor.
    mutating func move(_ delta: Int) {
        switch screen {
        case .list: moveSelection(delta)
        case .message: moveCursor(delta)
        case .destinations:
            guard !destinationRows.isEmpty else { return }
            destinationCursor = max(0, min(destinationRows.count - 1, destinationCursor.addingReportingOverflow(delta).partialValue))
            destinationTop = Scroll.top(destinationTop, keeping: destinationCursor, rows: pageSize, count: destinationRows.count)
        }
    }

    mutating func mouse(_ m: Mouse) {
        // While the help is open the wheel scrolls it and a click closes it.
        if let top = helpTop {
            switch m {
            case .wheelUp: scrollHelp(top, -3)
            case .wheelDown: scrollHelp(top, 3)
            case .click: helpTop = nil
            }
            return
        }
        switch m {
        case .wheelUp: move(-3)
        case .wheelDown: move(3)
        case .click(_, let y):
            switch screen {
            case .list:
                let row = y - layout.listRows.y + listTop
                guard y >= layout.listRows.y, row < order.count else { return }
                if selectedID == order[row] { open(order[row]) } else { selectedID = order[row] }
            case .destinations:
                let row = y - layout.listRows.y + destinationTop
                guard y >= layout.listRows.y, row < destinationRows.count else { return }
                if destinationCursor == row { filterTo(destination: destinationRows[row].name) } else { destinationCursor = row }
            case .message(_, let tab):
                let rows = messageLayout.rows(tab)
                guard let d = detail, tab != .anomalies, y >= rows.y, y < rows.bottom else { return }
                let row = y - rows.y + d.top[tab.rawValue]
                if row < d.rows.rowCount(tab) { moveCursor(row - d.cursor[tab.rawValue]) }
            }
        }
    }
}
