import Foundation
import Testing

@testable import PaddockCore

/// Lines come out whole however the stream is cut, and a line without end cannot grow the buffer.
struct LineSplitterTests {
    static func texts(_ lines: [LineSplitter.Line]) -> [String] { lines.map(\.text) }

    @Test(arguments: [1, 2, 3, 5, 64])
    func linesComeOutWholeHoweverTheStreamIsCut(chunkSize: Int) {
        let stream = Array("first\nsecond line\n\nfourth\r\nlast without newline".utf8)
        var splitter = LineSplitter(maxLineLength: 100)
        var lines: [LineSplitter.Line] = []
        var offset = 0
        while offset < stream.count {
            lines += splitter.feed(stream[offset..<min(offset + chunkSize, stream.count)])
            offset += chunkSize
        }
        #expect(Self.texts(lines) == ["first", "second line", "", "fourth\r"])
        #expect(splitter.pendingCount == "last without newline".utf8.count)
        #expect(splitter.finish() == LineSplitter.Line(Array("last without newline".utf8)))
        #expect(splitter.finish() == nil, "finishing empties the splitter")
        #expect(lines.allSatisfy { !$0.truncated })
    }

    @Test func aStreamEndingWithANewlineLeavesNothingToFinish() {
        var splitter = LineSplitter(maxLineLength: 10)
        #expect(Self.texts(splitter.feed(Array("a\nb\n".utf8))) == ["a", "b"])
        #expect(splitter.finish() == nil)
        #expect(splitter.feed([UInt8]()) == [])
    }

    @Test func sliceIndicesThatDoNotStartAtZeroAreHonoured() {
        let data = Data("xxone\ntwo\nyy".utf8)
        var splitter = LineSplitter(maxLineLength: 10)
        #expect(Self.texts(splitter.feed(data.dropFirst(2).dropLast(2))) == ["one", "two"])
        #expect(splitter.finish() == nil)
    }

    @Test func aLineOfExactlyTheLimitIsWhole() {
        var splitter = LineSplitter(maxLineLength: 4)
        #expect(splitter.feed(Array("abcd".utf8)) == [])
        #expect(splitter.feed(Array("\nef\n".utf8)) == [.init(Array("abcd".utf8)), .init(Array("ef".utf8))])
    }

    @Test func anOverlongLineIsCutAtTheLimitAndTheRestUpToItsNewlineDropped() {
        var splitter = LineSplitter(maxLineLength: 4)
        // Handed over as soon as it passes the limit, before its newline arrives.
        #expect(splitter.feed(Array("abcdef".utf8)) == [.init(Array("abcd".utf8), truncated: true)])
        #expect(splitter.pendingCount == 0)
        #expect(splitter.feed(Array("ghij".utf8)) == [], "the rest of the long line is dropped")
        #expect(splitter.feed(Array("kl\nok\nnext".utf8)) == [.init(Array("ok".utf8))])
        #expect(splitter.finish() == .init(Array("next".utf8)))
    }

    @Test func anOverlongLineInsideOneChunkIsCutToo() {
        var splitter = LineSplitter(maxLineLength: 3)
        let lines = splitter.feed(Array("ab\nabcdefg\ncd\n".utf8))
        #expect(
            lines == [.init(Array("ab".utf8)), .init(Array("abc".utf8), truncated: true), .init(Array("cd".utf8))])
    }

    @Test func aStreamThatEndsInsideAnOverlongLineHasNothingMoreToFinish() {
        var splitter = LineSplitter(maxLineLength: 2)
        #expect(splitter.feed(Array("abc".utf8)).count == 1)
        #expect(splitter.finish() == nil)
        // And it starts afresh.
        #expect(Self.texts(splitter.feed(Array("x\n".utf8))) == ["x"])
    }

    @Test func aPeerThatNeverSendsANewlineHoldsAtMostTheLimit() {
        var splitter = LineSplitter(maxLineLength: 1000)
        var truncated = 0
        for _ in 0..<1000 {
            truncated += splitter.feed([UInt8](repeating: 0x41, count: 4096)).filter(\.truncated).count
            #expect(splitter.pendingCount <= 1000)
        }
        #expect(truncated == 1, "one endless line is one truncated line")
    }

    @Test func aLimitBelowOneCountsAsOne() {
        var splitter = LineSplitter(maxLineLength: 0)
        #expect(splitter.maxLineLength == 1)
        #expect(splitter.feed(Array("a\nbc\n".utf8)) == [.init([0x61]), .init([0x62], truncated: true)])
    }
}
