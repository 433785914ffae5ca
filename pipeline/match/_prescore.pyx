# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled pre-score (issue 19 item 2): every person a child's buckets reach is scored, in the
reference's order, into a dense array indexed by pid; then the n best, ties by pid, within the
margin. The same double additions in the same order as ``blocking._reference_top``, so the
candidates (and their ties) are bit for bit the pure-Python ones (tests/unit/test_prescore_kernel.py).

It reads the buckets' Python lists, so it holds the GIL throughout.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport memcpy, memset

# flag of a pid in the scratch arrays: not reached, reached, excluded
cdef enum:
    UNSEEN = 0
    SEEN = 1
    EXCLUDED = 2


cdef class PreScorer:
    """Scratch arrays and each person's countries for one ``BlockingIndex``."""

    cdef double* score
    cdef unsigned char* flag
    cdef unsigned char* no_country
    cdef Py_ssize_t size
    cdef Py_ssize_t* touched
    cdef Py_ssize_t n_touched
    # each person's countries as ids: cids[cptr[p]:cptr[p + 1]] (CSR)
    cdef Py_ssize_t* cptr
    cdef Py_ssize_t* cids
    cdef Py_ssize_t n_cptr
    cdef unsigned char* child_has
    cdef dict country_id
    # the n best so far, best first
    cdef Py_ssize_t* best
    cdef Py_ssize_t best_cap

    def __cinit__(self, dict of_country, object no_country, Py_ssize_t n_people=0):
        # typed loops only: a partition's index, or the whole one (154k people at 20,000
        # children), is scored right after it is built, once per process
        cdef Py_ssize_t pid, cid, k, total = 0, top = n_people
        cdef list names = sorted(of_country)
        cdef list sets = [of_country[name] for name in names]
        cdef Py_ssize_t* fill
        self.country_id = {name: cid for cid, name in enumerate(names)}
        for members in sets:
            for obj in members:
                pid = obj
                if pid >= top:
                    top = pid + 1
                total += 1
        for obj in no_country:
            pid = obj
            if pid >= top:
                top = pid + 1
        self.size = 0
        self._grow(top + 1)
        self.n_cptr = top + 1
        self.cptr = <Py_ssize_t*> PyMem_Malloc((top + 1) * sizeof(Py_ssize_t))
        self.cids = <Py_ssize_t*> PyMem_Malloc(max(1, total) * sizeof(Py_ssize_t))
        self.child_has = <unsigned char*> PyMem_Malloc(max(1, len(names)))
        if not self.cptr or not self.cids or not self.child_has:
            raise MemoryError()
        memset(self.child_has, 0, max(1, len(names)))
        # CSR: count each person's countries, sum the counts up, then fill
        memset(self.cptr, 0, (top + 1) * sizeof(Py_ssize_t))
        for members in sets:
            for obj in members:
                pid = obj
                self.cptr[pid + 1] += 1
        for pid in range(top):
            self.cptr[pid + 1] += self.cptr[pid]
        fill = <Py_ssize_t*> PyMem_Malloc((top + 1) * sizeof(Py_ssize_t))
        if not fill:
            raise MemoryError()
        memcpy(fill, self.cptr, (top + 1) * sizeof(Py_ssize_t))
        for cid in range(len(sets)):
            for obj in <object> sets[cid]:
                pid = obj
                k = fill[pid]
                self.cids[k] = cid
                fill[pid] = k + 1
        PyMem_Free(fill)
        for obj in no_country:
            pid = obj
            self.no_country[pid] = 1

    cdef int _grow(self, Py_ssize_t need) except -1:
        """Make the per-pid arrays hold pid ``need - 1`` (a boost may name anyone)."""
        cdef Py_ssize_t size = max(need, 2 * self.size)
        cdef double* score = <double*> PyMem_Realloc(self.score, size * sizeof(double))
        if not score:
            raise MemoryError()
        self.score = score
        cdef unsigned char* flag = <unsigned char*> PyMem_Realloc(self.flag, size)
        if not flag:
            raise MemoryError()
        self.flag = flag
        cdef unsigned char* noc = <unsigned char*> PyMem_Realloc(self.no_country, size)
        if not noc:
            raise MemoryError()
        self.no_country = noc
        cdef Py_ssize_t* touched = <Py_ssize_t*> PyMem_Realloc(self.touched, size * sizeof(Py_ssize_t))
        if not touched:
            raise MemoryError()
        self.touched = touched
        cdef Py_ssize_t i
        for i in range(self.size, size):
            self.score[i] = 0.0
            self.flag[i] = UNSEEN
            self.no_country[i] = 0
        self.size = size
        return 0

    def __dealloc__(self):
        PyMem_Free(self.score)
        PyMem_Free(self.flag)
        PyMem_Free(self.no_country)
        PyMem_Free(self.touched)
        PyMem_Free(self.cptr)
        PyMem_Free(self.cids)
        PyMem_Free(self.child_has)
        PyMem_Free(self.best)

    cdef inline void _touch(self, Py_ssize_t pid) noexcept:
        if self.flag[pid] == UNSEEN:
            self.flag[pid] = SEEN
            self.touched[self.n_touched] = pid
            self.n_touched += 1

    cdef bint _penalised(self, Py_ssize_t pid) noexcept:
        """Whether all of the person's countries differ from the child's (marked in child_has);
        a person without any country never is."""
        cdef Py_ssize_t k
        if self.no_country[pid]:
            return False
        if pid < self.n_cptr - 1:
            for k in range(self.cptr[pid], self.cptr[pid + 1]):
                if self.child_has[self.cids[k]]:
                    return False
        return True

    def top(
        self,
        list buckets,
        object countries,
        double penalty,
        object boosts,
        object exclude,
        Py_ssize_t n,
        double margin,
    ):
        """The ``n`` best people of ``buckets`` (``weighted_buckets``), best first, ties by pid,
        within ``margin`` of the best: ``blocking.top_candidates``."""
        cdef Py_ssize_t i, j, pid, m, nb = 0
        cdef list found
        cdef double points, s, floor
        cdef bint any_country = False
        cdef tuple bucket
        self.n_touched = 0
        try:
            for bucket in buckets:
                found = <list> bucket[0]
                points = bucket[1]
                for i in range(len(found)):
                    pid = <Py_ssize_t> found[i]
                    if pid >= self.size:
                        self._grow(pid + 1)
                    self._touch(pid)
                    self.score[pid] += points
            for obj in exclude:
                pid = obj
                if 0 <= pid < self.size and self.flag[pid] == SEEN:
                    self.flag[pid] = EXCLUDED
            if countries and penalty:
                for name in countries:
                    cid = self.country_id.get(name)
                    if cid is not None:
                        self.child_has[<Py_ssize_t> cid] = 1
                        any_country = True
                # a child whose countries nobody has: everyone with a country is penalised
                for j in range(self.n_touched):
                    pid = self.touched[j]
                    if self.flag[pid] == SEEN and self._penalised(pid):
                        self.score[pid] -= penalty
                if any_country:
                    for name in countries:
                        cid = self.country_id.get(name)
                        if cid is not None:
                            self.child_has[<Py_ssize_t> cid] = 0
            for pair in boosts:
                pid = pair[0]
                points = pair[1]
                if pid >= self.size:
                    self._grow(pid + 1)
                if self.flag[pid] == EXCLUDED or pid in exclude:
                    continue
                self._touch(pid)
                self.score[pid] += points
            if n <= 0:
                return []
            if n > self.best_cap:
                self.best = <Py_ssize_t*> PyMem_Realloc(self.best, n * sizeof(Py_ssize_t))
                if not self.best:
                    self.best_cap = 0
                    raise MemoryError()
                self.best_cap = n
            # insertion into the n best (score descending, pid ascending): the ~420 people a
            # child reaches, against 18 kept, need no sort
            for j in range(self.n_touched):
                pid = self.touched[j]
                if self.flag[pid] != SEEN:
                    continue
                s = self.score[pid]
                if nb == n:
                    m = self.best[nb - 1]
                    if s < self.score[m] or (s == self.score[m] and pid > m):
                        continue
                    i = nb - 1
                else:
                    i = nb
                    nb += 1
                while i > 0:
                    m = self.best[i - 1]
                    if s > self.score[m] or (s == self.score[m] and pid < m):
                        self.best[i] = m
                        i -= 1
                    else:
                        break
                self.best[i] = pid
            out = []
            if nb:
                floor = self.score[self.best[0]] - margin
                for i in range(nb):
                    pid = self.best[i]
                    if self.score[pid] >= floor:
                        out.append(pid)
            return out
        finally:
            for j in range(self.n_touched):
                pid = self.touched[j]
                self.flag[pid] = UNSEEN
                self.score[pid] = 0.0
            self.n_touched = 0
