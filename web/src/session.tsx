// Who is signed in: the token (sessionStorage, so it ends with the tab) and GET /users/me,
// whose scopes decide which controls the pages show. The server checks every call anyway.
import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { apiGet, apiSend, getToken, setToken, setUnauthorizedHandler, type Me, type Product } from "./api";

export interface Session {
  me: Me | null;
  loading: boolean;
  products: Product[];
  product: string; // the product the pages show ("" before any exists)
  setProduct: (uid: string) => void;
  reloadProducts: () => void;
  can: (scope: string) => boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);
const PRODUCT_KEY = "updatehub.product";

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState<boolean>(getToken() !== null);
  const [products, setProducts] = useState<Product[]>([]);
  const [product, setProductState] = useState<string>(sessionStorage.getItem(PRODUCT_KEY) ?? "");

  const setProduct = useCallback((uid: string) => {
    sessionStorage.setItem(PRODUCT_KEY, uid);
    setProductState(uid);
  }, []);

  const forget = useCallback(() => {
    setToken(null);
    setMe(null);
    setProducts([]);
  }, []);

  const reloadProducts = useCallback(() => {
    apiGet<{ products: Product[] }>("/products")
      .then((answer) => {
        setProducts(answer.products);
        const stored = sessionStorage.getItem(PRODUCT_KEY) ?? "";
        if (!answer.products.some((p) => p.uid === stored) && answer.products.length > 0) {
          setProduct(answer.products[0].uid);
        }
      })
      .catch(() => setProducts([]));
  }, [setProduct]);

  const load = useCallback(async () => {
    if (!getToken()) {
      setLoading(false);
      return;
    }
    setLoading(true);
    try {
      setMe(await apiGet<Me>("/users/me"));
      reloadProducts();
    } catch {
      forget();
    } finally {
      setLoading(false);
    }
  }, [forget, reloadProducts]);

  useEffect(() => {
    setUnauthorizedHandler(forget);
    void load();
  }, [forget, load]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      const answer = await apiSend<{ token: string }>("POST", "/login", { username, password });
      setToken(answer.token);
      await load();
    },
    [load],
  );

  const signOut = useCallback(async () => {
    try {
      await apiSend("POST", "/logout");
    } catch {
      // the token may have expired already: signed out either way
    }
    forget();
  }, [forget]);

  const can = useCallback(
    (scope: string) => me !== null && (me.token_scopes ?? me.scopes).includes(scope),
    [me],
  );

  return (
    <SessionContext.Provider
      value={{ me, loading, products, product, setProduct, reloadProducts, can, signIn, signOut }}
    >
      {children}
    </SessionContext.Provider>
  );
}
